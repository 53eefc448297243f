"""RelationService against the real embedded store, with a recording notifier: the error codes of each
operation, the notification each one sends (type, direction, tips, operationID, version fields), the
incremental sync round trip, and the send-path verdicts with their cache."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from openim.config import AuthConfig, MessagingConfig
from openim.services.relations import RelationService, split_sort_marker
from openim.services.users import UserService
from openim.storage.messages.records import UserRecord, VersionEntry, VersionKind, VersionLog, VersionState
from openim.storage.relations.records import FRIEND_SORT_MARKER, FriendPatch
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import message_to_json
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio

PAGE = sdkws_pb2.RequestPagination(pageNumber=1, showNumber=100)


@dataclass
class FakeNotifier:
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    async def notify(self, **kwargs: Any) -> None:
        if self.fail:
            raise OpenIMError(ErrCode.SERVER_INTERNAL, "push broke")
        self.sent.append(kwargs)

    def take(self) -> list[tuple[int, str, str, dict[str, Any]]]:
        """(contentType, sendID, recvID, tips as the client sees them) of everything sent; then forget."""
        out = [(n["content_type"], n["send_id"], n["recv_id"], message_to_json(n["tips"])) for n in self.sent]
        for n in self.sent:
            assert n["operation_id"].startswith("op")  # the request's operationID travels along
        self.sent.clear()
        return out


@dataclass
class World:
    store: SqliteStore
    service: RelationService
    notifier: FakeNotifier
    messaging: MessagingConfig


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SqliteStore(tmp_path / "r.db")
    await store.open()
    await store.insert_users(
        [UserRecord(u, u.upper(), f"http://f/{u}", create_time=1) for u in ("u1", "u2", "u3", "u4")]
    )
    notifier = FakeNotifier()
    messaging = MessagingConfig()
    users = UserService(store, AuthConfig(), object())  # type: ignore[arg-type]  # its send cache is not used here
    service = RelationService(store, notifier, object(), users, messaging)  # type: ignore[arg-type]
    yield World(store, service, notifier, messaging)
    await store.aclose()


async def befriend(w: World, a: str, b: str) -> None:
    await w.service.apply(a, b, "hi", "", operation_id="op-apply")
    await w.service.respond(a, b, 1, "ok", handler=b, operation_id="op-accept")
    w.notifier.sent.clear()


async def code_of(coro: Any) -> int:
    with pytest.raises(OpenIMError) as info:
        await coro
    return int(info.value.code)


# -- requests --------------------------------------------------------------------------------------------


async def test_apply_sends_1203_with_the_request(world: World) -> None:
    await world.service.apply("u1", "u2", "hello", "ex1", operation_id="op-1")
    [(ct, send, recv, tips)] = world.notifier.take()
    assert (ct, send, recv) == (ContentType.FRIEND_APPLICATION, "u1", "u2")
    assert tips["fromToUserID"] == {"fromUserID": "u1", "toUserID": "u2"}
    req = tips["request"]
    assert (req["fromNickname"], req["toFaceURL"], req["reqMsg"], req["ex"], req["handleResult"]) == (
        "U1",
        "http://f/u2",
        "hello",
        "ex1",
        0,
    )
    assert req["createTime"] > 1_700_000_000_000  # milliseconds


async def test_apply_refusals(world: World) -> None:
    assert await code_of(world.service.apply("u1", "u1", "", "", operation_id="op")) == ErrCode.CAN_NOT_ADD_YOURSELF
    assert await code_of(world.service.apply("u1", "ghost", "", "", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    await befriend(world, "u1", "u2")
    assert await code_of(world.service.apply("u2", "u1", "", "", operation_id="op")) == ErrCode.RELATIONSHIP_ALREADY
    # Half a friendship is not "already friends": u2 deleted u1, u1 may ask again.
    await world.service.delete("u2", "u1", operation_id="op-del")
    await world.service.apply("u1", "u2", "again", "", operation_id="op-again")
    assert world.notifier.take()[-1][0] == ContentType.FRIEND_APPLICATION
    assert world.notifier.sent == []


async def test_accept_sends_1201_with_the_applicants_version(world: World) -> None:
    await world.service.apply("u1", "u2", "hi", "", operation_id="op-apply")
    world.notifier.take()
    await world.service.respond("u1", "u2", 1, "welcome", handler="u2", operation_id="op-ok")
    assert [n["sender_sync"] for n in world.notifier.sent] == [True, False, False]
    [(ct, send, recv, tips), *added] = world.notifier.take()
    assert (ct, send, recv) == (ContentType.FRIEND_APPLICATION_APPROVED, "u2", "u1")
    assert tips["fromToUserID"] == {"fromUserID": "u1", "toUserID": "u2"}
    assert tips["handleMsg"] == "welcome"
    assert (tips["request"]["handleResult"], tips["request"]["handlerUserID"]) == (1, "u2")
    log = await world.store.get_version_log(VersionKind.FRIEND, "u1")
    assert (tips["friendVersion"], tips["friendVersionID"]) == (log.version, log.version_id)
    assert await world.service.is_friend("u1", "u2") == (True, True)
    # 1204 FriendAdded to the owner of each new row, so the JS SDK re-syncs (see _announce_added):
    # the applicant hears it from the responder, the responder's other devices from himself.
    assert sorted((ct, s, r) for ct, s, r, _ in added) == [
        (ContentType.FRIEND_ADDED, "u2", "u1"),
        (ContentType.FRIEND_ADDED, "u2", "u2"),
    ]
    for _, _, owner, added_tips in added:
        log = await world.store.get_version_log(VersionKind.FRIEND, owner)
        assert added_tips["friend"]["ownerUserID"] == owner
        assert added_tips["friend"]["friendUser"]["userID"] == ("u2" if owner == "u1" else "u1")
        assert (added_tips["friendVersion"], added_tips["friendVersionID"]) == (log.version, log.version_id)
        assert added_tips["opUser"]["userID"] == "u2"


async def test_respond_codes(world: World) -> None:
    svc = world.service
    assert await code_of(svc.respond("u1", "u2", 1, "", handler="u2", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    assert await code_of(svc.respond("u1", "u2", -1, "", handler="u2", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    await svc.apply("u1", "u2", "", "", operation_id="op")
    assert await code_of(svc.respond("u1", "u2", 2, "", handler="u2", operation_id="op")) == ErrCode.ARGS
    await svc.respond("u1", "u2", -1, "no", handler="u2", operation_id="op-no")
    assert [n[:3] for n in world.notifier.take()][-1] == (ContentType.FRIEND_APPLICATION_REJECTED, "u2", "u1")
    # Handled: refusing again is 1305, accepting is 1001 (OpenIM's pair of answers).
    assert (
        await code_of(svc.respond("u1", "u2", -1, "", handler="u2", operation_id="op"))
        == ErrCode.FRIEND_REQUEST_HANDLED
    )
    assert await code_of(svc.respond("u1", "u2", 1, "", handler="u2", operation_id="op")) == ErrCode.ARGS
    assert await svc.is_friend("u1", "u2") == (False, False)


async def test_request_lists(world: World) -> None:
    await world.service.apply("u1", "u3", "a", "", operation_id="op")
    await trio.sleep(0.005)  # newest first: two requests in the same millisecond would tie
    await world.service.apply("u2", "u3", "b", "", operation_id="op")
    await world.service.respond("u1", "u3", -1, "", handler="u3", operation_id="op")
    total, got = await world.service.request_page("u3", received=True, handle_results=[], pagination=PAGE)
    assert (total, [r.fromUserID for r in got]) == (2, ["u2", "u1"])
    total, got = await world.service.request_page("u3", received=True, handle_results=[0], pagination=PAGE)
    assert (total, [r.fromUserID for r in got]) == (1, ["u2"])
    total, got = await world.service.request_page("u1", received=False, handle_results=[], pagination=PAGE)
    assert (total, [(r.toUserID, r.toNickname, r.handleResult) for r in got]) == (1, [("u3", "U3", -1)])
    bad = sdkws_pb2.RequestPagination(pageNumber=0, showNumber=10)
    assert await code_of(world.service.request_page("u3", received=True, handle_results=[], pagination=bad)) == 1001
    assert [r.fromUserID for r in await world.service.requests_between("u3", "u1")] == ["u1"]


# -- friends ---------------------------------------------------------------------------------------------


async def test_delete_update_remark_notifications_carry_the_owners_version(world: World) -> None:
    await befriend(world, "u1", "u2")
    await world.service.set_remark("u1", "u2", "buddy", operation_id="op-remark")
    await world.service.update_friends("u1", ["u2"], FriendPatch(is_pinned=True, ex="x"), operation_id="op-pin")
    await world.service.delete("u1", "u2", operation_id="op-del")
    sent = world.notifier.take()
    assert [(ct, s, r) for ct, s, r, _ in sent] == [
        (ContentType.FRIEND_REMARK_SET, "u1", "u2"),
        (ContentType.FRIENDS_INFO_UPDATE, "u1", "u1"),
        (ContentType.FRIEND_DELETED, "u1", "u2"),
    ]
    versions = [tips["friendVersion"] for _, _, _, tips in sent]
    assert versions == [2, 3, 4]  # u1's log: 1 insert, then one step per change
    assert sent[1][3]["friendIDs"] == ["u2"] and sent[1][3]["fromToUserID"]["toUserID"] == "u1"
    log = await world.store.get_version_log(VersionKind.FRIEND, "u1")
    assert {tips["friendVersionID"] for _, _, _, tips in sent} == {log.version_id}
    # u2 keeps u1 (deleting is one-directional).
    assert await world.service.is_friend("u1", "u2") == (False, True)


async def test_friend_operation_codes(world: World) -> None:
    svc = world.service
    await befriend(world, "u1", "u2")
    assert await code_of(svc.delete("u1", "u3", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    assert await code_of(svc.set_remark("u1", "u3", "x", operation_id="op")) == ErrCode.RECORD_NOT_FOUND
    code = await code_of(svc.update_friends("u1", ["u2", "u3"], FriendPatch(remark="x"), operation_id="op"))
    assert code == ErrCode.RECORD_NOT_FOUND
    # Nothing to change: no log entry, no notification.
    await svc.update_friends("u1", ["u2"], FriendPatch(), operation_id="op")
    assert world.notifier.sent == []
    assert (await world.store.get_version_log(VersionKind.FRIEND, "u1")).version == 1


async def test_lists_pin_first_and_time_in_seconds(world: World) -> None:
    await befriend(world, "u1", "u2")
    await befriend(world, "u1", "u3")
    await world.service.update_friends("u1", ["u3"], FriendPatch(is_pinned=True), operation_id="op")
    total, infos = await world.service.friend_page("u1", PAGE)
    assert (total, [i.friendUser.userID for i in infos]) == (2, ["u3", "u2"])
    first = infos[0]
    assert (first.ownerUserID, first.isPinned, first.addSource, first.operatorUserID) == ("u1", True, 2, "u1")
    assert (first.friendUser.nickname, first.friendUser.faceURL, first.friendUser.createTime) == (
        "U3",
        "http://f/u3",
        0,
    )
    assert 1_700_000_000 < first.createTime < 10_000_000_000  # seconds
    designated = await world.service.designated("u1", ["u4", "u2"])
    assert [i.friendUser.userID for i in designated] == ["u2"]
    assert await world.service.friend_ids("u1") == ["u2", "u3"]
    [info] = await world.service.specified_info("u1", ["u2"])
    assert info.userInfo.nickname == "U2" and info.friendInfo.createTime > 1_700_000_000_000  # ms here
    assert not info.HasField("blackInfo")


async def test_import_friends(world: World) -> None:
    svc = world.service
    await svc.import_friends("u1", ["u2", "u3"], operator="imAdmin", operation_id="op-imp")
    sent = [n for n in world.notifier.take() if n[0] == ContentType.FRIEND_APPLICATION_APPROVED]
    assert [(ct, s, r) for ct, s, r, _ in sent] == [
        (ContentType.FRIEND_APPLICATION_APPROVED, "u2", "u1"),
        (ContentType.FRIEND_APPLICATION_APPROVED, "u3", "u1"),
    ]
    assert sent[0][3]["request"] is None and sent[0][3]["friendVersion"] == 1
    assert await svc.is_friend("u3", "u1") == (True, True)
    rows = await world.store.get_friends("u3")
    assert (rows[0].add_source, rows[0].operator_user_id) == (1, "imAdmin")
    # Importing again changes nothing and says nothing.
    await svc.import_friends("u1", ["u2"], operator="imAdmin", operation_id="op-imp")
    assert world.notifier.sent == []
    assert await code_of(svc.import_friends("u1", ["u1"], operator="a", operation_id="op")) == 1301
    assert await code_of(svc.import_friends("u1", ["ghost"], operator="a", operation_id="op")) == 1004


async def test_a_failed_push_does_not_fail_the_operation(world: World) -> None:
    world.notifier.fail = True
    await world.service.apply("u1", "u2", "hi", "", operation_id="op")
    await world.service.respond("u1", "u2", 1, "", handler="u2", operation_id="op")
    assert await world.service.is_friend("u1", "u2") == (True, True)


# -- incremental sync ------------------------------------------------------------------------------------


async def test_split_sort_marker_takes_the_newest_marker_out() -> None:
    log = VersionLog(
        "a" * 24,
        5,
        [
            VersionEntry("x", VersionState.UPDATE, 4),
            VersionEntry(FRIEND_SORT_MARKER, VersionState.UPDATE, 5),
        ],
    )
    stripped, sort_version = split_sort_marker(log)
    assert sort_version == 5
    assert [e.e_id for e in stripped.entries] == ["x"]
    assert split_sort_marker(VersionLog("a" * 24, 1)) == (VersionLog("a" * 24, 1), 0)


async def test_incremental_round_trip(world: World) -> None:
    svc = world.service
    first = await svc.incremental("u1", "", 0)
    assert (first.full, list(first.insert), first.sortVersion) == (True, [], 0)
    await befriend(world, "u1", "u2")
    await befriend(world, "u1", "u3")
    step = await svc.incremental("u1", first.versionID, first.version)
    assert (step.full, [i.friendUser.userID for i in step.insert], step.version) == (False, ["u2", "u3"], 3)
    assert step.insert[0].createTime < 10_000_000_000  # seconds, as in the lists
    same = await svc.incremental("u1", step.versionID, step.version)
    assert (same.full, len(same.insert), len(same.update), len(same.delete)) == (False, 0, 0, 0)

    await svc.update_friends("u1", ["u2"], FriendPatch(is_pinned=True), operation_id="op")
    await svc.delete("u1", "u3", operation_id="op")
    after = await svc.incremental("u1", step.versionID, step.version)
    assert [i.friendUser.userID for i in after.update] == ["u2"] and after.update[0].isPinned
    assert list(after.delete) == ["u3"]
    assert after.sortVersion == step.version + 1  # the pin's version; the marker is no update
    assert all(i.friendUser.userID != FRIEND_SORT_MARKER for i in after.update)

    # A wrong versionID (log recreated elsewhere) or a version from the future: reload everything.
    assert (await svc.incremental("u1", "f" * 24, after.version)).full
    assert (await svc.incremental("u1", after.versionID, after.version + 5)).full


async def test_more_than_200_changes_mean_full(world: World) -> None:
    many = [f"m{i:03d}" for i in range(201)]
    await world.store.insert_users([UserRecord(u, u) for u in many])
    start = await world.service.incremental("u1", "", 0)
    await world.service.import_friends("u1", many[:200], operator="a", operation_id="op")
    within = await world.service.incremental("u1", start.versionID, start.version)
    assert (within.full, len(within.insert)) == (False, 200)
    await world.service.import_friends("u1", many[200:], operator="a", operation_id="op")
    over = await world.service.incremental("u1", start.versionID, start.version)
    assert (over.full, len(over.insert)) == (True, 0)
    assert over.version == within.version + 1


async def test_full_ids_and_hash(world: World) -> None:
    empty = await world.service.full_ids("u1", 0)
    assert (empty.equal, list(empty.userIDs)) == (True, [])
    await befriend(world, "u1", "u2")
    got = await world.service.full_ids("u1", 0)
    assert (got.equal, list(got.userIDs), got.version) == (False, ["u2"], 2)
    from openim.services.versioning import id_hash

    same = await world.service.full_ids("u1", id_hash(["u2"]))
    assert (same.equal, list(same.userIDs)) == (True, [])


async def test_profile_change_updates_friends_logs_and_tells_them(world: World) -> None:
    await befriend(world, "u2", "u1")
    await befriend(world, "u3", "u1")
    await world.service.delete("u3", "u1", operation_id="op")  # u3 no longer has u1
    world.notifier.take()
    await world.service.profile_changed("u1", operation_id="op-profile")
    sent = world.notifier.sent
    assert [(n["content_type"], n["send_id"], n["recv_id"], n["sender_sync"]) for n in sent] == [
        (ContentType.FRIEND_INFO_UPDATED, "u1", "u2", False)
    ]
    assert json.loads(json.dumps(message_to_json(sent[0]["tips"]))) == {"userID": "u1"}
    entries = (await world.store.get_version_log(VersionKind.FRIEND, "u2", since=1)).entries
    assert [(e.e_id, e.state) for e in entries] == [("u1", VersionState.UPDATE)]


# -- blacklists and the send path ------------------------------------------------------------------------


async def test_blacklist_operations(world: World) -> None:
    svc = world.service
    await svc.add_black("u1", "u2", "why", operator="u1", operation_id="op-b")
    await svc.add_black("u1", "u2", "again", operator="u1", operation_id="op-b")  # no change, no news
    await svc.remove_black("u1", "u3", operation_id="op-b")  # not on the list: no news
    assert [(ct, s, r) for ct, s, r, _ in world.notifier.take()] == [(ContentType.BLACK_ADDED, "u1", "u2")]
    total, page = await svc.black_page("u1", PAGE)
    assert total == 1 and page[0].blackUserInfo.nickname == "U2" and page[0].createTime < 10_000_000_000
    [spec] = await svc.specified_blacks("u1", ["u2", "u3"])
    assert spec.createTime > 1_700_000_000_000 and spec.ex == "why" and spec.operatorUserID == "u1"
    await svc.remove_black("u1", "u2", operation_id="op-b")
    [(ct, s, r, tips)] = world.notifier.take()
    assert (ct, s, r, tips) == (
        ContentType.BLACK_DELETED,
        "u1",
        "u2",
        {"fromToUserID": {"fromUserID": "u1", "toUserID": "u2"}},
    )
    assert await code_of(svc.add_black("u1", "u1", "", operator="u1", operation_id="op")) == ErrCode.ARGS
    assert await code_of(svc.add_black("u1", "ghost", "", operator="u1", operation_id="op")) == 1004


async def test_single_send_verdicts(world: World) -> None:
    svc = world.service
    await svc.rules.check_single_send("u2", "u1")  # strangers may talk by default
    await svc.add_black("u1", "u2", "", operator="u1", operation_id="op")
    assert await code_of(svc.rules.check_single_send("u2", "u1")) == ErrCode.BLOCKED_BY_PEER
    await svc.rules.check_single_send("u1", "u2")  # the one who blocked may still write
    await svc.remove_black("u1", "u2", operation_id="op")
    await svc.rules.check_single_send("u2", "u1")  # this process forgot its cached verdict at once

    # friend_verify on: the same store, a service built with the switch (config is immutable).
    svc = RelationService(
        world.store,
        world.notifier,  # type: ignore[arg-type]
        object(),  # type: ignore[arg-type]
        UserService(world.store, AuthConfig(), object()),  # type: ignore[arg-type]
        MessagingConfig(friend_verify=True),
    )
    world.service = svc
    assert await code_of(svc.rules.check_single_send("u3", "u4")) == ErrCode.NOT_PEERS_FRIEND
    await befriend(world, "u3", "u4")
    await svc.rules.check_single_send("u3", "u4")
    await svc.delete("u4", "u3", operation_id="op")
    assert await code_of(svc.rules.check_single_send("u3", "u4")) == ErrCode.NOT_PEERS_FRIEND
    await svc.rules.check_single_send("u4", "u3")  # u3 still lists u4


async def test_single_send_verdicts_without_waiting_come_from_the_cache_only(world: World) -> None:
    svc = world.service
    assert svc.rules.check_single_send_now("u2", "u1") is False  # nothing cached: the caller must await the check
    await svc.add_black("u1", "u2", "", operator="u1", operation_id="op")
    assert svc.rules.check_single_send_now("u2", "u1") is False  # the block dropped u1's lists, not refilled yet
    assert await code_of(svc.rules.check_single_send("u2", "u1")) == ErrCode.BLOCKED_BY_PEER
    with pytest.raises(OpenIMError) as caught:  # now cached: the same verdict at once
        svc.rules.check_single_send_now("u2", "u1")
    assert caught.value.code == ErrCode.BLOCKED_BY_PEER
    assert svc.rules.check_single_send_now("u3", "u1") is True  # u1's lists are cached and do not name u3
    await svc.remove_black("u1", "u2", operation_id="op")
    assert svc.rules.check_single_send_now("u2", "u1") is False  # forgotten with the change


async def test_verdicts_are_cached(world: World) -> None:
    """A change made behind the service's back (another process) shows only after the cache entry
    expires: one store read per recipient per TTL, not per message."""
    svc = world.service
    await svc.rules.check_single_send("u2", "u1")
    await world.store.add_friends([])  # no-op
    from openim.storage.relations.records import BlackRecord

    await world.store.add_black(BlackRecord("u1", "u2", 1))
    await svc.rules.check_single_send("u2", "u1")  # still the cached verdict
    svc.rules._lists.clear()
    assert await code_of(svc.rules.check_single_send("u2", "u1")) == ErrCode.BLOCKED_BY_PEER


async def test_update_friend_fields_sets_only_the_present_wrappers(world: World) -> None:
    from openim.wire.pb import relation_pb2, wrapperspb_pb2

    await befriend(world, "u1", "u2")
    await befriend(world, "u1", "u3")
    await world.service.set_remark("u1", "u2", "buddy", operation_id="op")
    await world.service.update_friends("u1", ["u2"], FriendPatch(ex="old"), operation_id="op")
    world.notifier.take()
    # remark absent: kept; isPinned set; ex present but empty: cleared.
    req = relation_pb2.updateFriendsReq(isPinned=wrapperspb_pb2.BoolValue(value=True), ex=wrapperspb_pb2.StringValue())
    await world.service.update_friend_fields("u1", ["u2", "u3"], req, operation_id="op-upd")
    rows = {r.friend_user_id: r for r in await world.store.get_friends("u1", ["u2", "u3"])}
    assert [(r.remark, r.is_pinned, r.ex) for r in (rows["u2"], rows["u3"])] == [("buddy", True, ""), ("", True, "")]
    [(ct, _s, _r, tips)] = world.notifier.take()
    assert ct == ContentType.FRIENDS_INFO_UPDATE and tips["friendIDs"] == ["u2", "u3"]

    await world.service.update_friend_fields("u1", ["u2"], relation_pb2.updateFriendsReq(), operation_id="op")
    assert world.notifier.take() == []  # nothing present: nothing changed, nothing announced
    unknown = world.service.update_friend_fields("u1", ["u4"], req, operation_id="op")
    assert await code_of(unknown) == ErrCode.RECORD_NOT_FOUND
