"""What the offline pusher sends for a batch: only stored chat messages with offline push on, never
to the sender, to every registered device of each offline recipient, with the title/text rules; and
dead tokens are forgotten. Runs on a real SQLite store and a recording provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from openim.config import OfflinePushConfig
from openim.offline_push.devices import DeviceRegistry
from openim.offline_push.provider import Notification, PushResult
from openim.offline_push.sender import OfflineMessage, OfflinePusher
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.batches: list[list[Notification]] = []

    async def check(self) -> None:
        pass

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        self.batches.append(list(batch))
        dead = [n.token for n in batch if n.token.startswith("dead")]
        return PushResult(sent=len(batch) - len(dead), dead_tokens=dead)

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def devices(tmp_path: Path) -> AsyncIterator[DeviceRegistry]:
    store = SqliteStore(tmp_path / "openim.db")
    await store.open()
    yield DeviceRegistry(store)
    await store.aclose()


def message(content_type: int = 101, *, seq: int = 7, push: bool = True, title: str = "") -> bytes:
    msg = sdkws_pb2.MsgData(
        sendID="alice",
        recvID="bob",
        clientMsgID="c1",
        sessionType=1,
        contentType=content_type,
        content=json.dumps({"content": "hi"}).encode(),
        seq=seq,
        senderNickname="Alice",
    )
    msg.options["offlinePush"] = push
    if title:
        msg.offlinePushInfo.title = title
        msg.offlinePushInfo.desc = "custom text"
    return msg.SerializeToString()


async def test_pushes_to_every_device_of_offline_recipients_but_not_the_sender(devices: DeviceRegistry) -> None:
    await devices.register("bob", 1, "bob-ios")
    await devices.register("bob", 2, "bob-android")
    await devices.register("alice", 1, "alice-ios")
    provider = Recorder()
    pusher = OfflinePusher(OfflinePushConfig(batch_size=1), devices, provider=provider)
    result = await pusher.push([OfflineMessage(message(), ("bob", "alice"))])
    assert result.sent == 2
    sent = [n for b in provider.batches for n in b]
    assert len(provider.batches) == 2, "batch_size 1: one provider call per notification"
    assert sorted(n.token for n in sent) == ["bob-android", "bob-ios"]
    assert {(n.title, n.body) for n in sent} == {("Alice", "You have a new message.")}
    assert sent[0].data["conversationID"] == "si_alice_bob"


async def test_skips_notifications_online_only_and_muted_messages(devices: DeviceRegistry) -> None:
    await devices.register("bob", 1, "bob-ios")
    provider = Recorder()
    pusher = OfflinePusher(OfflinePushConfig(), devices, provider=provider)
    batch = [
        OfflineMessage(message(1201), ("bob",)),  # a notification
        OfflineMessage(message(seq=0), ("bob",)),  # online-only
        OfflineMessage(message(push=False), ("bob",)),  # receiver muted pushes for the conversation
    ]
    assert (await pusher.push(batch)).sent == 0
    assert provider.batches == []


async def test_offline_push_info_and_dead_tokens(devices: DeviceRegistry) -> None:
    await devices.register("bob", 1, "dead-token")
    await devices.register("bob", 2, "bob-android")
    provider = Recorder()
    pusher = OfflinePusher(OfflinePushConfig(), devices, provider=provider)
    result = await pusher.push([OfflineMessage(message(title="Custom"), ("bob",))])
    assert (result.sent, result.dead_tokens) == (1, ["dead-token"])
    assert {(n.title, n.body) for b in provider.batches for n in b} == {("Custom", "custom text")}
    assert [t.token for t in await devices.tokens_of(["bob"])] == ["bob-android"]


async def test_submit_never_blocks(devices: DeviceRegistry) -> None:
    pusher = OfflinePusher(OfflinePushConfig(), devices, provider=Recorder())
    for _ in range(10_001):
        pusher.submit([OfflineMessage(message(), ("bob",))])
    assert pusher.dropped == 1
