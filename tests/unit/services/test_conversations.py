"""ConversationService against the real embedded store: which writes are logged and announced, the
incremental sync round trip, rows created by the transfer stage, and the /jssdk list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openim.services.conversations import ConversationService
from openim.services.sync import SyncService
from openim.storage.messages.records import ConversationPatch, NewMessage, UserRecord, VersionKind
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType, single_conversation_id
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import conversation_pb2, sdkws_pb2, wrapperspb_pb2

pytestmark = pytest.mark.trio

CONV = single_conversation_id("u1", "u2")


@dataclass
class FakeNotifier:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def notify(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


@dataclass
class FakeSend:
    forgotten: list[tuple[str, str]] = field(default_factory=list)

    def forget_conversation(self, owner: str, conversation_id: str) -> None:
        self.forgotten.append((owner, conversation_id))


@dataclass
class World:
    store: SqliteStore
    service: ConversationService
    notifier: FakeNotifier
    send: FakeSend


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SqliteStore(tmp_path / "c.db")
    await store.open()
    await store.insert_users(
        [UserRecord("u1", "One", create_time=1), UserRecord("u2", "Two", "http://f/2", create_time=2)]
    )
    notifier, send = FakeNotifier(), FakeSend()
    service = ConversationService(store, SyncService(store), notifier, send)  # type: ignore[arg-type]
    yield World(store, service, notifier, send)
    await store.aclose()


def single(**fields: Any) -> conversation_pb2.ConversationReq:
    req = conversation_pb2.ConversationReq(conversationID=CONV, conversationType=1, userID="u2")
    for name, value in fields.items():
        getattr(req, name).value = value
        getattr(req, name).SetInParent()
    return req


async def persist(store: SqliteStore, send_id: str, recv_id: str, n: int, t0: int = 1000) -> None:
    batch = []
    for i in range(n):
        msg = sdkws_pb2.MsgData(
            sendID=send_id,
            recvID=recv_id,
            clientMsgID=f"{send_id}-{t0}-{i}",
            serverMsgID=f"s{t0}{i}",
            sessionType=1,
            msgFrom=100,
            contentType=101,
            content=b'{"content":"hi"}',
            sendTime=t0 + i,
        )
        batch.append(
            NewMessage(
                conversation_id=single_conversation_id(send_id, recv_id),
                send_id=send_id,
                client_msg_id=msg.clientMsgID,
                server_msg_id=msg.serverMsgID,
                send_time=msg.sendTime,
                session_type=1,
                content_type=101,
                payload=msg.SerializeToString(),
                recv_id=recv_id,
                owners=(send_id, recv_id),
                conversation_type=1,
                reader_user_id=send_id,
            )
        )
    await store.persist_messages(batch, t0 + n)


async def test_set_conversations_creates_logs_and_announces_once(world: World) -> None:
    await world.service.set_conversations(["u1"], single(isPinned=True, recvMsgOpt=2), operation_id="op1")
    rows = await world.store.get_user_conversations("u1")
    assert [(r.conversation_id, r.is_pinned, r.recv_msg_opt, r.user_id) for r in rows] == [(CONV, True, 2, "u2")]
    assert [n["content_type"] for n in world.notifier.sent] == [ContentType.CONVERSATION_CHANGE]
    first = world.notifier.sent[0]
    assert (first["send_id"], first["recv_id"], first["operation_id"]) == ("u1", "u1", "op1")
    assert list(first["tips"].conversationIDList) == [CONV]
    assert world.send.forgotten == [("u1", CONV)]
    version = (await world.store.get_version_log(VersionKind.CONVERSATION, "u1")).version

    # The same values again: nothing changes, nothing is logged or announced.
    await world.service.set_conversations(["u1"], single(isPinned=True), operation_id="op2")
    assert len(world.notifier.sent) == 1
    assert (await world.store.get_version_log(VersionKind.CONVERSATION, "u1")).version == version


async def test_a_setting_change_keeps_the_read_state(world: World) -> None:
    await persist(world.store, "u1", "u2", 3)
    assert await world.store.raise_has_read_seq("u2", CONV, 2) == 2
    req = conversation_pb2.ConversationReq(conversationID=CONV, conversationType=1, userID="u1")
    req.isPinned.CopyFrom(wrapperspb_pb2.BoolValue(value=True))
    await world.service.set_conversations(["u2"], req, operation_id="op")
    (row,) = await world.store.get_user_conversations("u2")
    assert row.is_pinned and row.has_read_seq == 2


async def test_private_chat_is_mirrored_to_the_peer(world: World) -> None:
    await world.service.set_conversations(["u1"], single(isPrivateChat=True), operation_id="op")
    mine = await world.store.get_user_conversations("u1")
    theirs = await world.store.get_user_conversations("u2")
    assert mine[0].is_private_chat and theirs[0].is_private_chat and theirs[0].user_id == "u1"
    assert [n["content_type"] for n in world.notifier.sent] == [ContentType.CONVERSATION_PRIVATE_CHAT]
    tips = world.notifier.sent[0]["tips"]
    assert (tips.sendID, tips.recvID, tips.isPrivate, tips.conversationID) == ("u1", "u2", True, CONV)
    peer_log = await world.store.get_version_log(VersionKind.CONVERSATION, "u2", since=0)
    assert [e.e_id for e in peer_log.entries] == [CONV]


@pytest.mark.parametrize(
    ("conversation_type", "user_id", "group_id", "conversation_id"),
    [(0, "u2", "", CONV), (1, "", "", CONV), (3, "", "", "sg_g1"), (1, "u2", "", "")],
)
async def test_bad_conversations_are_args_errors(
    world: World, conversation_type: int, user_id: str, group_id: str, conversation_id: str
) -> None:
    req = conversation_pb2.ConversationReq(
        conversationID=conversation_id, conversationType=conversation_type, userID=user_id, groupID=group_id
    )
    req.isPinned.value = True
    req.isPinned.SetInParent()
    with pytest.raises(OpenIMError) as caught:
        await world.service.set_conversations(["u1"], req, operation_id="op")
    assert caught.value.code == ErrCode.ARGS


async def test_incremental_round_trip(world: World) -> None:
    first = await world.service.incremental("u1", "", 0)
    assert first.full and not first.insert and first.version >= 1
    await world.service.set_conversations(["u1"], single(isPinned=True), operation_id="op")
    second = await world.service.incremental("u1", first.versionID, first.version)
    assert not second.full
    assert [c.conversationID for c in second.insert] == [CONV] and second.insert[0].isPinned
    await world.service.set_conversations(["u1"], single(ex="x"), operation_id="op")
    third = await world.service.incremental("u1", second.versionID, second.version)
    assert [c.ex for c in third.update] == ["x"] and not third.insert
    await world.service.delete("u1", [CONV], 0, 0)
    fourth = await world.service.incremental("u1", third.versionID, third.version)
    assert list(fourth.delete) == [CONV]
    same = await world.service.incremental("u1", fourth.versionID, fourth.version)
    assert not same.full and not same.insert and not same.update and not same.delete


async def test_rows_the_transfer_stage_created_show_up_as_inserts(world: World) -> None:
    start = await world.service.incremental("u2", "", 0)
    await persist(world.store, "u1", "u2", 1)
    later = await world.service.incremental("u2", start.versionID, start.version)
    assert [c.conversationID for c in later.insert] == [CONV]
    assert later.insert[0].userID == "u1"
    ids = await world.service.full_ids("u2", 0)
    assert list(ids.conversationIDs) == [CONV] and not ids.equal
    assert (ids.version, ids.versionID) == (later.version, later.versionID)


async def test_full_ids_equal_when_the_hash_matches(world: World) -> None:
    await persist(world.store, "u1", "u2", 1)
    ids = await world.service.full_ids("u1", 0)
    from openim.services.versioning import id_hash

    again = await world.service.full_ids("u1", id_hash(list(ids.conversationIDs)))
    assert again.equal and not again.conversationIDs


async def test_empty_owner_full_ids_is_equal_to_zero(world: World) -> None:
    ids = await world.service.full_ids("u1", 0)
    assert ids.equal and not ids.conversationIDs


async def test_active_conversations_with_last_message_peer_and_unread(world: World) -> None:
    await persist(world.store, "u1", "u2", 3, t0=1000)
    await world.store.insert_users([UserRecord("u3", "Three", create_time=3)])
    await persist(world.store, "u3", "u2", 1, t0=5000)
    resp = await world.service.active("u2", 20)
    assert [c.conversation.conversationID for c in resp.conversations] == [single_conversation_id("u2", "u3"), CONV]
    assert resp.unreadCount == 4  # u2 sent nothing: everything is unread
    newest_with_u1 = resp.conversations[1]
    assert (newest_with_u1.maxSeq, newest_with_u1.readSeq, newest_with_u1.lastMsg.seq) == (3, 0, 3)
    assert newest_with_u1.user.userID == "u1" and newest_with_u1.user.nickname == "One"
    assert not newest_with_u1.HasField("friend") and not newest_with_u1.HasField("group")
    # The sender has read his own messages.
    mine = await world.service.active("u1", 20)
    assert mine.unreadCount == 0 and mine.conversations[0].readSeq == 3
    # Pinned goes first whatever the time.
    await world.service.set_conversations(["u2"], _pin_for_u2(), operation_id="op")
    pinned = await world.service.active("u2", 1)
    assert [c.conversation.conversationID for c in pinned.conversations] == [CONV]
    assert pinned.unreadCount == 4  # the total covers every active conversation, not only the page


def _pin_for_u2() -> conversation_pb2.ConversationReq:
    req = conversation_pb2.ConversationReq(conversationID=CONV, conversationType=1, userID="u1")
    req.isPinned.value = True
    req.isPinned.SetInParent()
    return req


async def test_jssdk_by_ids_lists_every_conversation_of_the_user_with_or_without_a_message(world: World) -> None:
    await persist(world.store, "u1", "u2", 2)
    await world.service.set_conversations(
        ["u1"],
        conversation_pb2.ConversationReq(
            conversationID="sg_g1", conversationType=3, groupID="g1", isPinned=wrapperspb_pb2.BoolValue(value=True)
        ),
        operation_id="op",
    )
    resp = await world.service.by_ids("u1", [CONV, "sg_g1", "si_nope"])
    assert [c.conversation.conversationID for c in resp.conversations] == [CONV, "sg_g1"]
    with_messages, without = resp.conversations
    assert with_messages.lastMsg.seq == 2 and with_messages.maxSeq == 2
    assert not without.HasField("lastMsg") and (without.maxSeq, without.readSeq) == (0, 0)
    assert resp.unreadCount == 0


async def test_jssdk_lists_a_cleared_conversation_without_a_latest_message(world: World) -> None:
    """A conversation whose messages the user cleared stays in both lists, with no lastMsg (the SDK shows
    an empty latest message) and nothing unread; the other participant still sees the messages."""
    await persist(world.store, "u1", "u2", 3)
    state = (await world.store.get_conversation_seqs([CONV]))[CONV]
    await world.store.update_user_conversation("u2", CONV, ConversationPatch(min_seq=state.max_seq + 1))
    await world.store.raise_has_read_seq("u2", CONV, state.max_seq)
    for resp in (await world.service.by_ids("u2", [CONV]), await world.service.active("u2", 20)):
        (item,) = resp.conversations
        assert item.conversation.conversationID == CONV and item.user.userID == "u1"
        assert not item.HasField("lastMsg") and (item.maxSeq, item.readSeq) == (3, 3)
        assert resp.unreadCount == 0
    (theirs,) = (await world.service.by_ids("u1", [CONV])).conversations
    assert theirs.lastMsg.seq == 3


async def test_sorted_list_summarises_the_newest_message(world: World) -> None:
    await persist(world.store, "u1", "u2", 2, t0=1000)
    resp = await world.service.sorted_list("u1", [], sdkws_pb2.RequestPagination(pageNumber=1, showNumber=10))
    assert (resp.conversationTotal, resp.unreadTotal) == (1, 0)
    (elem,) = resp.conversationElems
    assert elem.conversationID == CONV and elem.msgInfo.LatestMsgRecvTime == 1001
    assert elem.msgInfo.senderName == "Two"  # the owner sent it: the summary shows the peer
    assert elem.msgInfo.content == '{"content":"hi"}'
    other = await world.service.sorted_list("u2", [], sdkws_pb2.RequestPagination(pageNumber=1, showNumber=10))
    assert other.unreadTotal == 2 and other.conversationElems[0].unreadCount == 2
    assert other.conversationElems[0].msgInfo.senderName == "One"


async def test_not_notify_and_pinned_ids_and_the_owner_page(world: World) -> None:
    other = single_conversation_id("u1", "u3")
    await world.service.set_conversations(["u1"], single(isPinned=True), operation_id="op")
    req = conversation_pb2.ConversationReq(conversationID=other, conversationType=1, userID="u3")
    req.recvMsgOpt.value = 2  # receive, do not notify
    req.recvMsgOpt.SetInParent()
    await world.service.set_conversations(["u1"], req, operation_id="op")
    assert await world.service.pinned_ids("u1") == [CONV]
    assert await world.service.not_notify_ids("u1") == [other]
    assert await world.service.pinned_ids("u2") == [] and await world.service.not_notify_ids("u2") == []

    one_each = [sdkws_pb2.RequestPagination(pageNumber=n, showNumber=1) for n in (1, 2, 3)]
    pages = [await world.service.owner_page("u1", p) for p in one_each]
    assert [total for total, _ in pages] == [2, 2, 2]
    assert sorted(r.conversation_id for _, rows in pages[:2] for r in rows) == sorted([CONV, other])
    assert pages[2][1] == []
    with pytest.raises(OpenIMError) as caught:
        await world.service.owner_page("u1", sdkws_pb2.RequestPagination(pageNumber=0, showNumber=1))
    assert caught.value.code == ErrCode.ARGS
