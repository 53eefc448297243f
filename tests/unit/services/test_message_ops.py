"""MessageOps: who may revoke, how read marks move, what deletes and clears do to each user's view, and
which notifications (2101, 2102, 2200, 1703) leave for whom — on a real SQLite store and the memory bus,
with the whole send path running (sends are acknowledged only once stored)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import PresenceEntry
from openim.config import Config
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_DELIVERIES, Delivery, decode_deliveries
from openim.ops.metrics import Metrics
from openim.pipeline.msg import Sender, SendService
from openim.services.message_ops import (
    Actor,
    check_has_read_seq,
    check_may_revoke,
    check_seqs,
    read_receipt_seqs,
)
from openim.services.message_service import MessageOps
from openim.services.notify import Notifier
from openim.services.sync import SyncService
from openim.services.users import UserService
from openim.storage.messages.records import StoredMessage, UserRecord
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType, MsgStatus, SessionType, single_conversation_id
from openim.wire.envelope import decode_response
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2
from tests.unit.pipeline.send_rig import running_send_path

pytestmark = pytest.mark.trio

NODE = "node-a"
AB = single_conversation_id("alice", "bob")
N_AB = "n_alice_bob"


# -- pure decisions ------------------------------------------------------------------------------------


def stored(send_id: str = "alice", session_type: int = SessionType.SINGLE) -> StoredMessage:
    return StoredMessage(AB, 1, send_id, "c1", "s1", 1, session_type, ContentType.TEXT, b"", recv_id="bob")


def actor(user_id: str, *, admin: bool = False) -> Actor:
    return Actor(user_id=user_id, op_user_id="imAdmin" if admin else user_id, is_admin=admin, operation_id="op")


@pytest.mark.parametrize(
    ("session_type", "send_id", "who", "admin", "allowed"),
    [
        (SessionType.SINGLE, "alice", "alice", False, True),
        (SessionType.SINGLE, "alice", "bob", False, False),  # the receiver may not revoke
        (SessionType.SINGLE, "alice", "bob", True, True),  # an app admin may revoke anything
        (SessionType.NOTIFICATION, "alice", "bob", False, False),
        (SessionType.READ_GROUP, "alice", "alice", False, True),
        (SessionType.READ_GROUP, "alice", "carol", False, False),  # owner/admin rules come with groups
        (SessionType.WRITE_GROUP, "alice", "alice", False, False),
    ],
)
async def test_who_may_revoke(session_type: int, send_id: str, who: str, admin: bool, allowed: bool) -> None:
    if allowed:
        check_may_revoke(stored(send_id, session_type), actor(who, admin=admin))
    else:
        with pytest.raises(OpenIMError) as caught:
            check_may_revoke(stored(send_id, session_type), actor(who, admin=admin))
        assert caught.value.code == ErrCode.NO_PERMISSION


@pytest.mark.parametrize(("has_read", "max_seq", "ok"), [(1, 1, True), (5, 9, True), (0, 9, False), (10, 9, False)])
async def test_has_read_seq_bounds(has_read: int, max_seq: int, ok: bool) -> None:
    if ok:
        check_has_read_seq(has_read, max_seq)
    else:
        with pytest.raises(OpenIMError) as caught:
            check_has_read_seq(has_read, max_seq)
        assert caught.value.code == ErrCode.ARGS


@pytest.mark.parametrize(("seqs", "required", "ok"), [([1, 2], True, True), ([], False, True), ([], True, False),
                                                      ([3, 0], False, False), ([-1], False, False)])
async def test_seq_lists(seqs: list[int], required: bool, ok: bool) -> None:
    if ok:
        check_seqs(seqs, required=required)
    else:
        with pytest.raises(OpenIMError):
            check_seqs(seqs, required=required)


async def test_read_receipt_seqs_cover_the_new_range_then_listed_extras() -> None:
    assert read_receipt_seqs(2, 5, [4, 7, 7, 9]) == [3, 4, 5, 7, 9]
    assert read_receipt_seqs(5, 3, [6]) == [6]


# -- the service on a real store -----------------------------------------------------------------------


@dataclass
class World:
    store: SqliteStore
    bus: MemoryBus
    send: SendService
    sync: SyncService
    ops: MessageOps
    frames: list[tuple[Delivery, str, sdkws_pb2.PushMessages]] = field(default_factory=list)
    arrived: trio.Event = field(default_factory=trio.Event)

    async def say(self, sender: str, recv: str, n: int = 1) -> list[int]:
        seqs = []
        for _ in range(n):
            msg = sdkws_pb2.MsgData(
                sendID=sender, recvID=recv, clientMsgID=f"{sender}-{len(self.frames)}-{trio.current_time()}",
                senderNickname=sender.title(), sessionType=SessionType.SINGLE, msgFrom=100,
                contentType=ContentType.TEXT, content=b'{"content":"hi"}', status=MsgStatus.SENDING,
            )
            seqs.append((await self.send.send(msg, operation_id="op-send", sender=Sender(sender, 5))).seq)
        return seqs

    async def pull(self, user: str, conversation_id: str = AB) -> list[sdkws_pb2.MsgData]:
        req = sdkws_pb2.PullMessageBySeqsReq(userID=user)
        req.seqRanges.add(conversationID=conversation_id, begin=1, end=100, num=100)
        resp = await self.sync.pull_by_range(req)
        target = resp.notificationMsgs if conversation_id.startswith("n_") else resp.msgs
        return list(target[conversation_id].Msgs) if conversation_id in target else []

    async def notifications(self, content_type: int, count: int = 1) -> list[tuple[Delivery, str, sdkws_pb2.MsgData]]:
        """Wait for ``count`` pushed notifications of ``content_type``; (delivery, operationID, message)."""
        with trio.fail_after(5):
            while True:
                found = [
                    (d, op, m)
                    for d, op, push in self.frames
                    for conv in push.notificationMsgs.values()
                    for m in conv.Msgs
                    if m.contentType == content_type
                ]
                if len(found) >= count:
                    return found
                self.arrived = trio.Event()
                await self.arrived.wait()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    cfg = Config()
    store = SqliteStore(tmp_path / "openim.db")
    await store.open()
    bus = MemoryBus()
    await bus.open()
    metrics = Metrics(NODE, ("all",))
    inbox = NodeInbox(bus, NODE)
    await store.insert_users(
        [UserRecord("alice", "Alice"), UserRecord("bob", "Bob"), UserRecord("carol", "Carol"),
         UserRecord("imAdmin", "superAdmin", app_manager_level=2)]
    )
    await bus.presence_add(
        [PresenceEntry(u, NODE, 5, f"{u}-1") for u in ("alice", "bob", "carol")], ttl_s=600
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(inbox.serve)
        async with running_send_path(
            "memory", store=store, bus=bus, inbox=inbox, node_id=NODE, messaging=cfg.messaging, metrics=metrics
        ) as path:
            send = path.send
            sync = SyncService(store)
            users = UserService(store, cfg.auth, send)
            ops = MessageOps(store, sync, Notifier(send), send, users)
            w = World(store, bus, send, sync, ops)

            def on_deliveries(body: bytes) -> None:
                for delivery in decode_deliveries(body):
                    frame = decode_response(delivery.frame)
                    push = sdkws_pb2.PushMessages.FromString(frame.data or b"")
                    w.frames.append((delivery, frame.operation_id, push))
                w.arrived.set()

            inbox.register(KIND_DELIVERIES, on_deliveries)
            yield w
        nursery.cancel_scope.cancel()
    await bus.aclose()
    await store.aclose()


def tips_of(msg: sdkws_pb2.MsgData) -> dict[str, object]:
    detail: str = json.loads(msg.content)["detail"]
    tips: dict[str, object] = json.loads(detail)
    return tips


async def test_revoke_by_sender_stores_details_and_notifies_both_sides(world: World) -> None:
    [seq] = await world.say("alice", "bob")
    rev = Actor("alice", "alice", False, "op-revoke")
    await world.ops.revoke(rev, AB, seq)

    [pulled] = await world.pull("bob")
    assert pulled.contentType == ContentType.MSG_REVOKE_NOTIFICATION and pulled.seq == seq
    content = tips_of(pulled)
    assert content["revokerID"] == "alice" and content["revokerNickname"] == "Alice"
    assert content["sourceMessageSendID"] == "alice" and content["sourceMessageSenderNickname"] == "Alice"
    assert content["seq"] == seq and content["sessionType"] == SessionType.SINGLE

    [(delivery, operation_id, note)] = await world.notifications(ContentType.MSG_REVOKE_NOTIFICATION)
    assert operation_id == "op-revoke"  # the SDK skips its own revoke by this operationID
    assert set(delivery.user_ids) == {"alice", "bob"}
    assert (note.sendID, note.recvID, note.sessionType, note.seq) == ("alice", "bob", SessionType.SINGLE, 1)
    tips = tips_of(note)
    assert tips == {
        "revokerUserID": "alice", "clientMsgID": pulled.clientMsgID, "revokeTime": tips["revokeTime"],
        "sesstionType": 1, "seq": seq, "conversationID": AB, "isAdminRevoke": False,
    }
    # stored in the n_ stream: an offline device finds it there
    assert [m.contentType for m in await world.pull("bob", N_AB)] == [ContentType.MSG_REVOKE_NOTIFICATION]

    with pytest.raises(OpenIMError) as again:
        await world.ops.revoke(rev, AB, seq)
    assert again.value.code == ErrCode.MSG_ALREADY_REVOKE


async def test_revoke_refusals(world: World) -> None:
    [seq] = await world.say("alice", "bob")
    with pytest.raises(OpenIMError) as missing:
        await world.ops.revoke(actor("alice"), AB, seq + 5)
    assert missing.value.code == ErrCode.RECORD_NOT_FOUND
    with pytest.raises(OpenIMError) as not_sender:
        await world.ops.revoke(actor("bob"), AB, seq)
    assert not_sender.value.code == ErrCode.NO_PERMISSION
    with pytest.raises(OpenIMError) as bad_seq:
        await world.ops.revoke(actor("alice"), AB, 0)
    assert bad_seq.value.code == ErrCode.ARGS


async def test_admin_revoke_is_flagged(world: World) -> None:
    [seq] = await world.say("alice", "bob")
    await world.ops.revoke(Actor("imAdmin", "imAdmin", True, "op-adm"), AB, seq)
    [(delivery, _op, note)] = await world.notifications(ContentType.MSG_REVOKE_NOTIFICATION)
    # an admin outside the chat: the notice goes between the participants, flagged as an admin revoke
    assert (note.sendID, note.recvID) == ("alice", "bob") and set(delivery.user_ids) == {"alice", "bob"}
    assert tips_of(note)["isAdminRevoke"] is True and tips_of(note)["revokerUserID"] == "imAdmin"


async def test_mark_conversation_as_read_raises_only_and_sends_receipt_to_peer(world: World) -> None:
    await world.say("alice", "bob", 3)
    bob = Actor("bob", "bob", False, "op-read")
    await world.ops.mark_conversation_as_read(bob, AB, 2, [])
    seqs = await world.sync.has_read_and_max_seq("bob", [AB])
    assert (seqs.seqs[AB].hasReadSeq, seqs.seqs[AB].maxSeq) == (2, 3)
    [(delivery, operation_id, note)] = await world.notifications(ContentType.HAS_READ_RECEIPT)
    assert operation_id == "op-read" and (note.sendID, note.recvID) == ("bob", "alice") and note.seq == 1
    assert set(delivery.user_ids) == {"alice", "bob"}
    assert tips_of(note) == {"markAsReadUserID": "bob", "conversationID": AB, "seqs": [1, 2], "hasReadSeq": 2}

    await world.ops.mark_conversation_as_read(bob, AB, 1, [])  # lower: the mark stays
    assert (await world.sync.has_read_and_max_seq("bob", [AB])).seqs[AB].hasReadSeq == 2

    for bad in ((0, []), (2, [0]), (9, [])):
        with pytest.raises(OpenIMError) as caught:
            await world.ops.mark_conversation_as_read(bob, AB, bad[0], bad[1])
        assert caught.value.code == ErrCode.ARGS
    with pytest.raises(OpenIMError) as no_conv:
        await world.ops.mark_conversation_as_read(actor("carol"), AB, 1, [])
    assert no_conv.value.code == ErrCode.RECORD_NOT_FOUND


async def test_set_has_read_seq_goes_to_self_unstored(world: World) -> None:
    await world.say("alice", "bob", 2)
    await world.ops.set_has_read_seq(Actor("bob", "bob", False, "op-set"), AB, 2)
    [(delivery, _op, note)] = await world.notifications(ContentType.HAS_READ_RECEIPT)
    assert delivery.user_ids == ("bob",) and note.seq == 0  # sendID == recvID: pushed, not stored
    with pytest.raises(OpenIMError) as too_high:
        await world.ops.set_has_read_seq(actor("bob"), AB, 3)
    assert too_high.value.code == ErrCode.ARGS


async def test_mark_msgs_as_read(world: World) -> None:
    await world.say("alice", "bob", 4)
    await world.ops.mark_msgs_as_read(actor("bob"), AB, [3, 1])
    assert (await world.sync.has_read_and_max_seq("bob", [AB])).seqs[AB].hasReadSeq == 3
    with pytest.raises(OpenIMError):
        await world.ops.mark_msgs_as_read(actor("bob"), AB, [])


async def test_delete_for_me_hides_for_that_user_only(world: World) -> None:
    await world.say("alice", "bob", 2)
    await world.ops.delete_msgs(Actor("bob", "bob", False, "op-del"), AB, [1], sync_self=True, sync_other=False)
    bob_view = await world.pull("bob")
    assert (bob_view[0].status, bob_view[0].content) == (MsgStatus.DELETED, b"")
    assert bob_view[1].status == MsgStatus.SUCCESS
    assert all(m.status == MsgStatus.SUCCESS for m in await world.pull("alice"))
    [(delivery, _op, note)] = await world.notifications(ContentType.DELETE_MSGS_NOTIFICATION)
    assert delivery.user_ids == ("bob",) and tips_of(note) == {"userID": "bob", "conversationID": AB, "seqs": [1]}


async def test_delete_for_everyone_and_admin_physical_delete(world: World) -> None:
    await world.say("alice", "bob", 3)
    await world.ops.delete_msgs(actor("alice"), AB, [1], sync_self=False, sync_other=True)
    assert (await world.pull("bob"))[0].status == MsgStatus.DELETED
    [(delivery, _op, _note)] = await world.notifications(ContentType.DELETE_MSGS_NOTIFICATION)
    assert set(delivery.user_ids) == {"alice", "bob"}
    with pytest.raises(OpenIMError) as outsider:
        await world.ops.delete_msgs(actor("carol"), AB, [2], sync_self=False, sync_other=True)
    assert outsider.value.code == ErrCode.RECORD_NOT_FOUND

    await world.ops.delete_physical_by_seq(AB, [2])
    assert [m.status for m in await world.pull("alice")] == [MsgStatus.DELETED, MsgStatus.DELETED, MsgStatus.SUCCESS]
    assert await world.ops.delete_physical_older_than([AB], 3600) == 0  # nothing is an hour old
    assert await world.ops.delete_physical_older_than([AB], 0) == 1  # everything older than now


async def test_clear_conversation_for_me_then_for_everyone(world: World) -> None:
    await world.say("alice", "bob", 3)
    await world.ops.clear_conversations(actor("bob"), [AB, "si_nobody_else"], sync_self=True, sync_other=False)
    assert await world.pull("bob") == []
    assert len(await world.pull("alice")) == 3
    bob = (await world.sync.has_read_and_max_seq("bob", [AB])).seqs[AB]
    assert (bob.hasReadSeq, bob.maxSeq) == (3, 3)
    [(delivery, _op, note)] = await world.notifications(ContentType.CLEAR_CONVERSATION)
    assert delivery.user_ids == ("bob",) and tips_of(note) == {"userID": "bob", "conversationIDs": [AB]}

    [seq4] = await world.say("alice", "bob")
    assert [m.seq for m in await world.pull("bob")] == [seq4]  # new messages are readable again
    await world.ops.clear_conversations(actor("alice"), None, sync_self=False, sync_other=True)
    assert await world.pull("alice") == [] and await world.pull("bob") == []


async def test_admin_send_status_is_remembered_per_operation(world: World) -> None:
    msg = sdkws_pb2.MsgData(
        sendID="imAdmin", recvID="bob", clientMsgID="x1", sessionType=SessionType.SINGLE, msgFrom=200,
        contentType=ContentType.TEXT, content=b'{"content":"hi"}',
    )
    assert world.ops.send_status("op-admin") == 0
    out = await world.ops.send_admin(msg, "op-admin")
    assert out.seq == 1 and world.ops.send_status("op-admin") == 2
    bad = sdkws_pb2.MsgData(sendID="imAdmin", recvID="nobody", clientMsgID="x2", sessionType=1, contentType=101)
    with pytest.raises(OpenIMError):
        await world.ops.send_admin(bad, "op-bad")
    assert world.ops.send_status("op-bad") == 3


async def test_business_notification_levels(world: World) -> None:
    from openim.wire.pb import apistruct_pb2

    unstored = apistruct_pb2.SendBusinessNotificationReq(key="k", data="d", sendUserID="imAdmin", recvUserID="bob")
    first = await world.ops.send_business_notification(unstored, "op-b1")
    assert first.seq == 0
    [(delivery, operation_id, note)] = await world.notifications(ContentType.BUSINESS_NOTIFICATION)
    assert operation_id == "op-b1" and "bob" in delivery.user_ids
    assert json.loads(note.content) == {"detail": '{"key":"k","data":"d"}'}

    stored_req = apistruct_pb2.SendBusinessNotificationReq(
        key="k", data="d", sendUserID="imAdmin", recvUserID="bob", reliabilityLevel=2, sendMsg=True
    )
    second = await world.ops.send_business_notification(stored_req, "op-b2")
    assert second.seq == 1 and second.conversation_id == "n_bob_imAdmin"
    [copy] = await world.pull("bob", "si_bob_imAdmin")  # the sendMsg copy lands in the chat conversation
    assert copy.contentType == ContentType.BUSINESS_NOTIFICATION

    for bad in (
        apistruct_pb2.SendBusinessNotificationReq(sendUserID="imAdmin"),
        apistruct_pb2.SendBusinessNotificationReq(sendUserID="imAdmin", recvUserID="bob", recvGroupID="g"),
    ):
        with pytest.raises(OpenIMError) as caught:
            await world.ops.send_business_notification(bad, "op")
        assert caught.value.code == ErrCode.ARGS


async def test_batch_send_admin_sends_one_message_per_receiver_and_lists_failures(world: World) -> None:
    from openim.wire.pb import apistruct_pb2

    recv_ids = ["bob", "nobody", "carol", "bob"]
    req = apistruct_pb2.BatchSendMsgReq(sendID="imAdmin", contentType=101, sessionType=1, recvIDs=recv_ids)
    resp = await world.ops.batch_send_admin(req, {"content": "hi"}, "op-batch")
    assert [r.recvID for r in resp.results] == ["bob", "carol"] and list(resp.failedUserIDs) == ["nobody"]
    assert len({r.clientMsgID for r in resp.results}) == 2  # each its own, or the send path would dedupe
    assert world.ops.send_status("op-batch") == 2  # the last send of the batch succeeded
    [bob] = await world.pull("bob", single_conversation_id("bob", "imAdmin"))
    assert (bob.sendID, bob.clientMsgID) == ("imAdmin", resp.results[0].clientMsgID)

    everyone = apistruct_pb2.BatchSendMsgReq(sendID="imAdmin", contentType=101, sessionType=1, isSendAll=True)
    resp = await world.ops.batch_send_admin(everyone, {"content": "all"}, "op-all")
    assert sorted(r.recvID for r in resp.results) == ["alice", "bob", "carol", "imAdmin"]

    with pytest.raises(OpenIMError) as caught:
        await world.ops.batch_send_admin(req, {"text": "no content key"}, "op-bad")
    assert caught.value.code == ErrCode.ARGS and world.ops.send_status("op-bad") == 0  # refused before any send
