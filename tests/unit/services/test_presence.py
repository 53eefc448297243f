"""PresenceService on the memory bus's presence map and the embedded store: the status answers of the
/user status routes, and the REST status subscriptions it keeps (per subscriber, bounded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openim.bus.memory import MemoryBus
from openim.bus.port import PresenceEntry
from openim.services.presence import MAX_SUBSCRIPTIONS, OFFLINE, ONLINE, PresenceService
from openim.storage.messages.records import TokenRecord, TokenState
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import message_to_json
from tests.unit.pipeline.send_rig import open_store_and_bus

pytestmark = pytest.mark.trio

EXPIRE = 4_000_000_000_000


@pytest.fixture
async def presence(tmp_path: Path) -> AsyncIterator[PresenceService]:
    async with open_store_and_bus(tmp_path / "p.db") as (store, bus):
        await _alice_online(store, bus)
        yield PresenceService(bus, store)


async def _alice_online(store: SqliteStore, bus: MemoryBus) -> None:
    # alice: web (5) twice and iOS (2); bob: offline.
    await bus.presence_add(
        [
            PresenceEntry("alice", "n1", 5, "a-web-1"),
            PresenceEntry("alice", "n2", 5, "a-web-2"),
            PresenceEntry("alice", "n1", 2, "a-ios"),
        ],
        ttl_s=600,
    )
    for token, platform, state in (
        ("t-web", 5, TokenState.NORMAL),
        ("t-old", 5, TokenState.KICKED),
        ("t-ios", 2, TokenState.NORMAL),
        ("t-mac", 4, TokenState.NORMAL),
    ):
        await store.save_token(TokenRecord("alice", platform, token, state, EXPIRE, create_time=1))


def statuses(found: list[object]) -> list[dict[str, object]]:
    return [message_to_json(s) for s in found]  # type: ignore[arg-type]


async def test_status_list_in_request_order_with_the_online_platforms(presence: PresenceService) -> None:
    assert statuses(await presence.status_list(["bob", "alice"])) == [
        {"userID": "bob", "status": OFFLINE, "platformIDs": []},
        {"userID": "alice", "status": ONLINE, "platformIDs": [2, 5]},
    ]
    assert await presence.status_list([]) == []


async def test_online_status_lists_every_connection(presence: PresenceService) -> None:
    resp = await presence.online_status(["alice", "bob"])
    alice, bob = resp.successResult
    assert (alice.userID, alice.status, bob.userID, bob.status) == ("alice", ONLINE, "bob", OFFLINE)
    assert sorted((d.platformID, d.connID) for d in alice.detailPlatformStatus) == [
        (2, "a-ios"), (5, "a-web-1"), (5, "a-web-2"),
    ]  # fmt: skip
    assert list(bob.detailPlatformStatus) == []


async def test_token_detail_lists_the_valid_tokens_of_online_platforms_only(presence: PresenceService) -> None:
    resp = await presence.online_token_detail(["bob", "alice"])
    [alice] = resp.successResult  # bob is offline: left out
    assert alice.userID == "alice" and alice.status == ONLINE
    # macOS (4) has a token but no connection; the kicked web token is not in force.
    assert [(p.platformID, list(p.token), p.total) for p in alice.singlePlatformToken] == [
        (2, ["t-ios"], 1), (5, ["t-web"], 1),
    ]  # fmt: skip


async def test_subscriptions_answer_the_status_and_are_kept_per_subscriber(presence: PresenceService) -> None:
    now = await presence.subscribe("carol", ["alice", "bob"], cancel=False)
    assert [(s.userID, s.status) for s in now] == [("alice", ONLINE), ("bob", OFFLINE)]
    await presence.subscribe("dave", ["bob"], cancel=False)
    assert [s.userID for s in await presence.subscribed_status("carol")] == ["alice", "bob"]

    assert await presence.subscribe("carol", ["alice", "zed"], cancel=True) == []
    assert [s.userID for s in await presence.subscribed_status("carol")] == ["bob"]
    assert [s.userID for s in await presence.subscribed_status("dave")] == ["bob"]  # untouched
    await presence.subscribe("carol", ["bob"], cancel=True)
    assert await presence.subscribed_status("carol") == []
    assert await presence.subscribe("nobody", ["bob"], cancel=True) == []  # nothing to cancel: no error


async def test_subscriptions_are_bounded_per_subscriber(presence: PresenceService) -> None:
    first = [f"u{i}" for i in range(MAX_SUBSCRIPTIONS - 1)]
    await presence.subscribe("carol", first, cancel=False)
    await presence.subscribe("carol", ["u0", "last"], cancel=False)  # u0 again does not count twice
    with pytest.raises(OpenIMError) as caught:
        await presence.subscribe("carol", ["one-too-many"], cancel=False)
    assert caught.value.code == ErrCode.ARGS
    assert len(await presence.subscribed_status("carol")) == MAX_SUBSCRIPTIONS  # the refused one is not kept
    await presence.subscribe("dave", ["one-too-many"], cancel=False)  # another subscriber has his own bound
