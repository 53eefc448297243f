"""The relation part of the Store contract (friends, friend requests, blacklists), on SQLite AND PostgreSQL.

Beyond CRUD, these tests hold the rule the incremental sync depends on: every friendship change
commits together with its friend version-log entries, and the returned header is the log after it.
"""

from __future__ import annotations

import pytest
import trio

from openim.storage.messages.records import VersionEntry, VersionKind, VersionState
from openim.storage.port import Store
from openim.storage.relations.records import (
    FRIEND_SORT_MARKER,
    BlackRecord,
    FriendPatch,
    FriendRecord,
    FriendRequestRecord,
    HandleResult,
)

NOW = 1_700_000_000_000


def friend(owner: str, other: str, t: int = NOW) -> FriendRecord:
    return FriendRecord(owner, other, create_time=t, add_source=1, operator_user_id="op")


async def entries(store: Store, owner: str) -> list[VersionEntry]:
    return (await store.get_version_log(VersionKind.FRIEND, owner, since=0)).entries


# -- friends ---------------------------------------------------------------------------------------------


async def test_add_friends_inserts_missing_rows_and_logs_each_owner(store: Store) -> None:
    added = await store.add_friends([friend("a", "b"), friend("b", "a"), friend("a", "c", NOW + 1)])
    assert sorted((r.owner_user_id, r.friend_user_id) for r in added.inserted) == [("a", "b"), ("a", "c"), ("b", "a")]
    assert set(added.versions) == {"a", "b"}
    assert added.versions["a"].version == 1 and added.versions["b"].version == 1
    assert [(e.e_id, e.state) for e in await entries(store, "a")] == [
        ("b", VersionState.INSERT),
        ("c", VersionState.INSERT),
    ]
    header = await store.get_version_log(VersionKind.FRIEND, "a")
    assert (header.version_id, header.version) == (added.versions["a"].version_id, 1)

    # Existing pairs are left alone (remark, time), and an all-existing call logs nothing.
    await store.update_friends("a", ["b"], FriendPatch(remark="bee"))
    again = await store.add_friends([friend("a", "b", NOW + 99), friend("b", "a", NOW + 99)])
    assert again.inserted == [] and again.versions == {}
    [row] = await store.get_friends("a", ["b"])
    assert (row.remark, row.create_time, row.add_source, row.operator_user_id) == ("bee", NOW, 1, "op")
    assert (await store.get_version_log(VersionKind.FRIEND, "a")).version == 2
    assert (await store.add_friends([])).inserted == []


async def test_friend_reads_orders_and_pages(store: Store) -> None:
    await store.add_friends([friend("o", f"f{i}", NOW + i) for i in range(5)])
    await store.update_friends("o", ["f3"], FriendPatch(is_pinned=True))
    rows = await store.get_friends("o")
    assert [r.friend_user_id for r in rows] == ["f3", "f0", "f1", "f2", "f4"]  # pinned first, then oldest
    assert rows[0].is_pinned is True and rows[1].is_pinned is False
    assert [r.friend_user_id for r in await store.get_friends("o", ["f4", "nobody", "f1", "f4"])] == ["f4", "f1"]
    assert await store.get_friends("o", []) == []
    total, page = await store.page_friends("o", offset=1, limit=2)
    assert (total, [r.friend_user_id for r in page]) == (5, ["f0", "f1"])
    total, page = await store.page_friends("o", offset=10, limit=2)
    assert (total, page) == (5, [])
    assert await store.get_friend_ids("o") == ["f0", "f1", "f2", "f3", "f4"]
    assert await store.get_friend_ids("nobody") == []
    await store.add_friends([friend("p", "f1")])
    assert await store.get_friend_owners("f1") == ["o", "p"]
    assert await store.get_friend_owners("zz") == []


async def test_delete_friend_is_one_directional_and_logged(store: Store) -> None:
    await store.add_friends([friend("a", "b"), friend("b", "a")])
    log = await store.delete_friend("a", "b")
    assert log is not None and log.version == 2
    assert await store.get_friends("a") == []
    assert [r.friend_user_id for r in await store.get_friends("b")] == ["a"]
    assert [(e.e_id, e.state, e.version) for e in await entries(store, "a")] == [("b", VersionState.DELETE, 2)]
    assert await store.delete_friend("a", "b") is None
    assert (await store.get_version_log(VersionKind.FRIEND, "a")).version == 2  # nothing logged


async def test_update_friends_changes_fields_and_marks_sort_only_for_pins(store: Store) -> None:
    await store.add_friends([friend("o", "x"), friend("o", "y"), friend("o", "z")])
    log = await store.update_friends("o", ["x", "y", "ghost"], FriendPatch(remark="r", ex="e"))
    assert log is not None and log.version == 2
    assert {e.e_id: (e.state, e.version) for e in await entries(store, "o")} == {
        "x": (VersionState.UPDATE, 2),
        "y": (VersionState.UPDATE, 2),
        "z": (VersionState.INSERT, 1),
    }
    rows = {r.friend_user_id: r for r in await store.get_friends("o")}
    assert (rows["x"].remark, rows["x"].ex, rows["z"].remark) == ("r", "e", "")
    log = await store.update_friends("o", ["z"], FriendPatch(is_pinned=True))
    assert log is not None and log.version == 3
    marker = [e for e in await entries(store, "o") if e.e_id == FRIEND_SORT_MARKER]
    assert [(e.state, e.version) for e in marker] == [(VersionState.UPDATE, 3)]
    assert await store.update_friends("o", ["ghost"], FriendPatch(remark="x")) is None
    assert await store.update_friends("o", [], FriendPatch(remark="x")) is None
    with pytest.raises(TypeError):  # no patch field: nothing can ask the store to change it
        FriendPatch(owner_user_id="evil")  # type: ignore[call-arg]


async def test_requests_upsert_resets_and_lists_both_ways(store: Store) -> None:
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "hi", NOW, ex="x"))
    refused = await store.refuse_friend_request("a", "b", handler_user_id="b", handle_msg="no", now_ms=NOW + 1)
    assert refused is not None
    assert (refused.handle_result, refused.handler_user_id, refused.handle_msg, refused.handle_time) == (
        HandleResult.REFUSED,
        "b",
        "no",
        NOW + 1,
    )
    # Asking again resets the pair's request to pending with the new message.
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "please", NOW + 2))
    await store.upsert_friend_request(FriendRequestRecord("c", "b", 0, "me too", NOW + 3))
    await store.upsert_friend_request(FriendRequestRecord("b", "a", 0, "reverse", NOW + 4))
    [ab, ba] = await store.get_friend_requests_between("a", "b")
    assert (ab.from_user_id, ab.handle_result, ab.req_msg, ab.handle_msg, ab.handle_time, ab.ex) == (
        "a",
        0,
        "please",
        "",
        0,
        "",
    )
    assert (ba.from_user_id, ba.req_msg) == ("b", "reverse")
    assert [r.from_user_id for r in await store.get_friend_requests_between("b", "a")] == ["b", "a"]
    assert await store.get_friend_requests_between("a", "zz") == []

    total, got = await store.page_friend_requests("b", received=True, offset=0, limit=10)
    assert (total, [r.from_user_id for r in got]) == (2, ["c", "a"])  # newest first
    total, got = await store.page_friend_requests("b", received=True, offset=1, limit=1)
    assert (total, [r.from_user_id for r in got]) == (2, ["a"])
    total, got = await store.page_friend_requests("b", received=False, offset=0, limit=10)
    assert (total, [r.to_user_id for r in got]) == (1, ["a"])
    await store.refuse_friend_request("c", "b", handler_user_id="b", handle_msg="", now_ms=NOW + 5)
    total, got = await store.page_friend_requests("b", received=True, handle_results=[0], offset=0, limit=10)
    assert (total, [r.from_user_id for r in got]) == (1, ["a"])
    total, got = await store.page_friend_requests("b", received=True, handle_results=[-1, 1], offset=0, limit=10)
    assert (total, [r.from_user_id for r in got]) == (1, ["c"])


async def test_accept_agrees_both_requests_and_makes_logged_friendships(store: Store) -> None:
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "hi", NOW))
    await store.upsert_friend_request(FriendRequestRecord("b", "a", 0, "hi back", NOW))
    outcome = await store.accept_friend_request(
        "a", "b", handler_user_id="b", handle_msg="ok", now_ms=NOW + 1, add_source=2
    )
    assert outcome is not None
    assert (outcome.request.handle_result, outcome.request.handle_msg) == (HandleResult.AGREED, "ok")
    assert {r.from_user_id: r.handle_result for r in await store.get_friend_requests_between("a", "b")} == {
        "a": 1,
        "b": 1,
    }
    assert sorted((r.owner_user_id, r.friend_user_id) for r in outcome.added.inserted) == [("a", "b"), ("b", "a")]
    [row] = await store.get_friends("b")
    assert (row.friend_user_id, row.add_source, row.operator_user_id, row.create_time) == ("a", 2, "a", NOW + 1)
    for owner, other in (("a", "b"), ("b", "a")):
        header = await store.get_version_log(VersionKind.FRIEND, owner, since=0)
        assert header.version_id == outcome.added.versions[owner].version_id
        assert [(e.e_id, e.state) for e in header.entries] == [(other, VersionState.INSERT)]
        assert header.version == outcome.added.versions[owner].version
    # Handled now: a second accept or a refuse finds nothing pending, and changes nothing.
    assert (
        await store.accept_friend_request("a", "b", handler_user_id="b", handle_msg="", now_ms=NOW, add_source=2)
        is None
    )
    assert await store.refuse_friend_request("a", "b", handler_user_id="b", handle_msg="", now_ms=NOW) is None
    assert (
        await store.accept_friend_request("x", "y", handler_user_id="y", handle_msg="", now_ms=NOW, add_source=2)
        is None
    )
    assert (await store.get_version_log(VersionKind.FRIEND, "a")).version == 1


async def test_accept_keeps_an_existing_direction(store: Store) -> None:
    """b deleted a earlier but a kept b: accepting again only creates b's row and logs only b."""
    await store.add_friends([friend("a", "b")])
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "again", NOW))
    outcome = await store.accept_friend_request("a", "b", handler_user_id="b", handle_msg="", now_ms=NOW, add_source=2)
    assert outcome is not None
    assert [(r.owner_user_id, r.friend_user_id) for r in outcome.added.inserted] == [("b", "a")]
    assert set(outcome.added.versions) == {"b"}


async def test_concurrent_accepts_have_one_winner(store: Store) -> None:
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "hi", NOW))
    results: list[object] = []

    async def accept() -> None:
        results.append(
            await store.accept_friend_request("a", "b", handler_user_id="b", handle_msg="", now_ms=NOW, add_source=2)
        )

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(accept)
    assert sum(r is not None for r in results) == 1
    assert (await store.get_version_log(VersionKind.FRIEND, "a")).version == 1


# -- blacklists ------------------------------------------------------------------------------------------


async def test_blacklist_add_remove_list(store: Store) -> None:
    assert await store.add_black(BlackRecord("o", "x", NOW + 2, 0, "o", "ex-x"))
    assert await store.add_black(BlackRecord("o", "y", NOW + 1))
    assert not await store.add_black(BlackRecord("o", "x", NOW + 9))  # already there: unchanged
    assert [(b.block_user_id, b.create_time) for b in await store.get_blacks("o")] == [("y", NOW + 1), ("x", NOW + 2)]
    [x] = await store.get_blacks("o", ["x", "nobody"])
    assert (x.owner_user_id, x.operator_user_id, x.ex, x.create_time) == ("o", "o", "ex-x", NOW + 2)
    assert await store.get_blacks("o", []) == []
    total, page = await store.page_blacks("o", offset=1, limit=5)
    assert (total, [b.block_user_id for b in page]) == (2, ["x"])
    assert await store.remove_black("o", "x")
    assert not await store.remove_black("o", "x")
    assert [b.block_user_id for b in await store.get_blacks("o")] == ["y"]
    assert await store.get_blacks("x") == []


async def test_blacklist_changes_write_the_black_log(store: Store) -> None:
    """Every add and remove that changes the list leaves its entry in the owner's BLACK log, in the same
    transaction; a no-op leaves none. The friend log is not touched."""
    assert await store.add_black(BlackRecord("o", "x", NOW))
    assert await store.add_black(BlackRecord("o", "y", NOW))
    assert not await store.add_black(BlackRecord("o", "x", NOW + 1))
    log = await store.get_version_log(VersionKind.BLACK, "o", since=0)
    assert log.version == 2
    assert [(e.e_id, e.state, e.version) for e in log.entries] == [
        ("x", VersionState.INSERT, 1),
        ("y", VersionState.INSERT, 2),
    ]
    assert await store.remove_black("o", "x")
    assert not await store.remove_black("o", "x")
    log = await store.get_version_log(VersionKind.BLACK, "o", since=2)
    assert log.version == 3 and [(e.e_id, e.state) for e in log.entries] == [("x", VersionState.DELETE)]
    assert (await store.get_version_log(VersionKind.BLACK, "x")).version == 1  # other owners: a fresh log
    assert await entries(store, "o") == []


async def test_many_ids_in_one_lookup(store: Store) -> None:
    """Beyond one SQLite statement's worth of rows (chunked) the answer stays complete and ordered."""
    ids = [f"u{i:05d}" for i in range(2500)]
    added = await store.add_friends([friend("big", u, NOW + i) for i, u in enumerate(ids)])
    assert len(added.inserted) == 2500 and added.versions["big"].version == 1
    wanted = list(reversed(ids[::3]))
    assert [r.friend_user_id for r in await store.get_friends("big", wanted)] == wanted
    log = await store.update_friends("big", ids, FriendPatch(ex="x"))
    assert log is not None and log.version == 2
    assert len(await entries(store, "big")) == 2500


async def test_pending_friend_requests_to_a_user_are_counted(store: Store) -> None:
    await store.upsert_friend_request(FriendRequestRecord("a", "b", 0, "hi", NOW))
    await store.upsert_friend_request(FriendRequestRecord("c", "b", 0, "me too", NOW + 10))
    await store.upsert_friend_request(FriendRequestRecord("d", "b", 0, "and me", NOW + 20))
    await store.upsert_friend_request(FriendRequestRecord("b", "a", 0, "reverse", NOW + 30))
    await store.refuse_friend_request("d", "b", handler_user_id="b", handle_msg="no", now_ms=NOW + 40)
    assert await store.count_pending_friend_requests("b") == 2
    assert await store.count_pending_friend_requests("b", NOW) == 1  # only those made after NOW
    assert await store.count_pending_friend_requests("a") == 1
    assert await store.count_pending_friend_requests("z") == 0
