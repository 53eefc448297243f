"""The Store contract: what the domain may rely on, checked on SQLite AND PostgreSQL.

The ``store`` fixture (tests/contract/conftest.py) runs each test once per backend, on empty tables;
``store_factory`` builds a second store over the same data (a restart, or a second process).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from openim.storage.messages.records import (
    BanRecord,
    ConversationPatch,
    ConversationSeq,
    NewMessage,
    PersistResult,
    TokenRecord,
    TokenState,
    TokenStateChange,
    UserConversation,
    UserPatch,
    UserRecord,
    VersionEntry,
    VersionKind,
    VersionState,
)
from openim.storage.port import AlreadyExists, Store

NOW = 1_700_000_000_000


def single(
    sender: str, receiver: str, client_msg_id: str, *, send_time: int = NOW, reader: bool = True
) -> NewMessage:
    a, b = sorted((sender, receiver))
    return NewMessage(
        conversation_id=f"si_{a}_{b}",
        send_id=sender,
        client_msg_id=client_msg_id,
        server_msg_id=f"srv-{client_msg_id}",
        send_time=send_time,
        session_type=1,
        content_type=101,
        payload=f"payload of {client_msg_id}".encode(),
        recv_id=receiver,
        owners=(sender, receiver),
        conversation_type=1,
        reader_user_id=sender if reader else "",
    )


def in_group(sender: str, group: str, members: tuple[str, ...], client_msg_id: str) -> NewMessage:
    return NewMessage(
        conversation_id=f"sg_{group}",
        send_id=sender,
        client_msg_id=client_msg_id,
        server_msg_id=f"srv-{client_msg_id}",
        send_time=NOW,
        session_type=3,
        content_type=101,
        payload=b"\x00\x01binary\xff",
        group_id=group,
        owners=members,
        conversation_type=3,
        reader_user_id=sender,
    )


# -- users ---------------------------------------------------------------------------------------------------


async def test_users_insert_get_in_request_order(store: Store) -> None:
    alice = UserRecord("alice", "Alice", "http://a/face.png", '{"k":1}', NOW, 0, 1)
    bob = UserRecord("bob", "Bob", create_time=NOW + 1, app_manager_level=2)
    await store.insert_users([alice, bob])

    assert await store.get_users(["bob", "nobody", "alice"]) == [bob, alice]
    assert await store.get_users([]) == []


async def test_insert_users_is_all_or_nothing(store: Store) -> None:
    await store.insert_users([UserRecord("alice")])

    with pytest.raises(AlreadyExists):
        await store.insert_users([UserRecord("carol"), UserRecord("alice", "Other")])
    with pytest.raises(AlreadyExists):
        await store.insert_users([UserRecord("dave"), UserRecord("dave")])

    assert await store.get_users(["alice", "carol", "dave"]) == [UserRecord("alice")]


async def test_update_user(store: Store) -> None:
    await store.insert_users([UserRecord("alice", "Alice", create_time=5)])

    assert await store.update_user("alice", UserPatch(nickname="Alicia", face_url="f", global_recv_msg_opt=2))
    assert not await store.update_user("nobody", UserPatch(nickname="x"))
    assert await store.get_users(["alice"]) == [UserRecord("alice", "Alicia", "f", "", 5, 0, 2)]
    with pytest.raises(TypeError):  # no patch field: nothing can ask the store to change it
        UserPatch(create_time=1)  # type: ignore[call-arg]


async def test_list_users_pages_filters_and_counts(store: Store) -> None:
    users = [UserRecord(f"user{i:02}", f"Nick_{i}", create_time=NOW + i % 3) for i in range(12)]
    users.append(UserRecord("imAdmin", "superAdmin", create_time=NOW - 1, app_manager_level=100))
    await store.insert_users(users)

    total, page = await store.list_users(offset=0, limit=5)
    assert total == 13
    # create_time first, then user_id
    assert [u.user_id for u in page] == ["imAdmin", "user00", "user03", "user06", "user09"]
    total, page = await store.list_users(offset=10, limit=5)
    assert (total, [u.user_id for u in page]) == (13, ["user05", "user08", "user11"])

    total, page = await store.list_users(offset=0, limit=50, keyword="NICK_1")  # nickname, any case
    assert (total, sorted(u.user_id for u in page)) == (3, ["user01", "user10", "user11"])
    total, page = await store.list_users(offset=0, limit=50, keyword="admin")  # user_id substring
    assert (total, [u.user_id for u in page]) == (1, ["imAdmin"])
    total, _ = await store.list_users(offset=0, limit=50, keyword="%")  # a literal, not a wildcard
    assert total == 0
    total, page = await store.list_users(offset=0, limit=50, keyword="_1")
    assert total == 3

    total, page = await store.list_users(offset=0, limit=50, max_manager_level=0)
    assert total == 12 and "imAdmin" not in {u.user_id for u in page}


# -- tokens --------------------------------------------------------------------------------------------------


def token(user: str, platform: int, value: str, *, expire: int = NOW + 1000, created: int = NOW) -> TokenRecord:
    return TokenRecord(user, platform, value, TokenState.NORMAL, expire, created)


async def test_tokens_save_get_list_replace(store: Store) -> None:
    jwt = "eyJ" + "x" * 400  # real tokens are long
    await store.save_token(token("alice", 1, jwt))
    await store.save_token(token("alice", 5, "web-1", created=NOW + 1))
    await store.save_token(token("bob", 1, "bob-1"))

    assert await store.get_token("alice", 1, jwt) == token("alice", 1, jwt)
    assert await store.get_token("alice", 2, jwt) is None
    assert [t.token for t in await store.list_tokens("alice")] == [jwt, "web-1"]
    assert await store.list_tokens("alice", 5) == [token("alice", 5, "web-1", created=NOW + 1)]

    kicked = TokenRecord("alice", 1, jwt, TokenState.KICKED, NOW + 5, NOW)
    await store.save_token(kicked)  # insert or replace
    assert await store.get_token("alice", 1, jwt) == kicked
    assert len(await store.list_tokens("alice")) == 2


async def test_set_token_states_reports_only_changes(store: Store) -> None:
    for value, platform in (("a1", 1), ("a2", 1), ("a3", 2), ("keep", 1), ("w", 5)):
        await store.save_token(token("alice", platform, value))
    await store.save_token(token("bob", 1, "b1"))

    changed = await store.set_token_states("alice", [1, 2], TokenState.KICKED, except_token="keep")
    assert changed == ["a1", "a2", "a3"]
    # Already kicked ones do not count as changes.
    assert await store.set_token_states("alice", [1, 2], TokenState.KICKED, except_token="keep") == []
    assert (await store.get_token("alice", 1, "keep")).state == TokenState.NORMAL  # type: ignore[union-attr]
    assert (await store.get_token("alice", 5, "w")).state == TokenState.NORMAL  # type: ignore[union-attr]
    assert (await store.get_token("bob", 1, "b1")).state == TokenState.NORMAL  # type: ignore[union-attr]


async def test_set_token_states_created_before_spares_newer_tokens(store: Store) -> None:
    await store.save_token(token("carl", 1, "older", created=NOW - 10))
    await store.save_token(token("carl", 1, "mine", created=NOW))
    await store.save_token(token("carl", 1, "newer", created=NOW + 10))
    changed = await store.set_token_states(
        "carl", [1], TokenState.KICKED, except_token="mine", created_before_ms=NOW
    )
    assert changed == ["older"]
    assert (await store.get_token("carl", 1, "newer")).state == TokenState.NORMAL  # type: ignore[union-attr]


async def test_set_token_states_many_is_each_change_in_order(store: Store) -> None:
    await store.save_token(token("erin", 1, "e-old", created=NOW - 10))
    await store.save_token(token("erin", 1, "e-mine", created=NOW))
    await store.save_token(token("erin", 2, "e-web", created=NOW - 5))
    await store.save_token(token("fred", 1, "f1", created=NOW - 10))
    changed = await store.set_token_states_many([
        TokenStateChange("erin", (1,), TokenState.KICKED, "e-mine", NOW),
        TokenStateChange("fred", (), TokenState.KICKED),  # nothing asked: nothing changed
        TokenStateChange("erin", (1, 2), TokenState.KICKED, "e-mine", NOW),  # sees the first change's effect
        TokenStateChange("fred", (1,), TokenState.KICKED),
    ])
    assert changed == [["e-old"], [], ["e-web"], ["f1"]]
    assert (await store.get_token("erin", 1, "e-mine")).state == TokenState.NORMAL  # type: ignore[union-attr]
    assert await store.set_token_states_many([]) == []


async def test_purge_takes_kicked_tokens_created_before_the_cutoff(store: Store) -> None:
    await store.save_token(TokenRecord("dora", 1, "kicked-old", TokenState.KICKED, NOW + 1000, NOW - 10))
    await store.save_token(TokenRecord("dora", 1, "kicked-new", TokenState.KICKED, NOW + 1000, NOW + 10))
    await store.save_token(TokenRecord("dora", 1, "normal-old", TokenState.NORMAL, NOW + 1000, NOW - 10))
    assert await store.purge_expired_tokens(NOW, kicked_before_ms=NOW) == 1
    assert [t.token for t in await store.list_tokens("dora")] == ["normal-old", "kicked-new"]


async def test_delete_and_purge_tokens(store: Store) -> None:
    await store.save_token(token("alice", 1, "old", expire=NOW - 1))
    await store.save_token(token("alice", 1, "live", expire=NOW + 1))
    await store.save_token(token("alice", 2, "gone"))
    await store.save_token(token("bob", 2, "gone"))

    await store.delete_tokens("alice", ["gone", "unknown"])
    assert await store.get_token("bob", 2, "gone") is not None  # only alice's
    assert await store.purge_expired_tokens(NOW) == 1
    assert [t.token for t in await store.list_tokens("alice")] == ["live"]


# -- bans ----------------------------------------------------------------------------------------------------


async def test_bans_save_replace_get_delete(store: Store) -> None:
    assert await store.get_bans(["alice"]) == []
    await store.save_ban(BanRecord("alice", "spam", "imAdmin", NOW))
    await store.save_ban(BanRecord("bob", "", "imAdmin", NOW))
    await store.save_ban(BanRecord("alice", "spam again", "ops", NOW + 1))  # replaces
    assert await store.get_bans(["carol", "bob", "alice"]) == [
        BanRecord("bob", "", "imAdmin", NOW),
        BanRecord("alice", "spam again", "ops", NOW + 1),
    ]
    assert await store.delete_ban("alice") is True
    assert await store.delete_ban("alice") is False
    assert [b.user_id for b in await store.get_bans(["alice", "bob"])] == ["bob"]


# -- persist_messages ----------------------------------------------------------------------------------------


async def test_seqs_start_at_one_and_grow_by_one_per_conversation(store: Store) -> None:
    batch = [
        single("alice", "bob", "m1"),
        single("carol", "alice", "m2"),
        single("bob", "alice", "m3"),
        in_group("alice", "g1", ("alice", "bob", "carol"), "m4"),
        single("alice", "bob", "m5"),
    ]
    results = await store.persist_messages(batch, NOW)

    assert results == [
        PersistResult("si_alice_bob", 1, "srv-m1", NOW),
        PersistResult("si_alice_carol", 1, "srv-m2", NOW),
        PersistResult("si_alice_bob", 2, "srv-m3", NOW),
        PersistResult("sg_g1", 1, "srv-m4", NOW),
        PersistResult("si_alice_bob", 3, "srv-m5", NOW),
    ]
    more = await store.persist_messages([single("bob", "alice", "m6"), single("carol", "alice", "m7")], NOW + 9)
    assert [(r.conversation_id, r.seq) for r in more] == [("si_alice_bob", 4), ("si_alice_carol", 2)]

    seqs = await store.get_conversation_seqs(["si_alice_bob", "si_alice_carol", "sg_g1", "si_x_y"])
    assert seqs == {
        "si_alice_bob": ConversationSeq("si_alice_bob", 4, 0, NOW + 9),
        "si_alice_carol": ConversationSeq("si_alice_carol", 2, 0, NOW + 9),
        "sg_g1": ConversationSeq("sg_g1", 1, 0, NOW),
    }
    stored = await store.get_messages("si_alice_bob", [1, 2, 3, 4, 5])
    assert sorted(stored) == [1, 2, 3, 4]
    assert stored[2].send_id == "bob" and stored[2].client_msg_id == "m3"
    assert stored[2].payload == b"payload of m3" and stored[2].recv_id == "alice" and stored[2].revoke is None
    group_msg = (await store.get_messages("sg_g1", [1]))[1]
    assert (group_msg.payload, group_msg.group_id, group_msg.session_type) == (b"\x00\x01binary\xff", "g1", 3)


async def test_duplicates_return_the_original_result(store: Store) -> None:
    first = await store.persist_messages([single("alice", "bob", "m1", send_time=NOW)], NOW)
    assert first == [PersistResult("si_alice_bob", 1, "srv-m1", NOW)]

    # A retry after a lost ack: different server id and time, same (send_id, client_msg_id).
    again = single("alice", "bob", "m1", send_time=NOW + 500)
    again = NewMessage(
        again.conversation_id, again.send_id, again.client_msg_id, "srv-other", again.send_time,
        again.session_type, again.content_type, b"other", again.recv_id, owners=again.owners,
        reader_user_id="alice",
    )  # fmt: skip
    results = await store.persist_messages(
        [again, single("alice", "bob", "m2"), single("alice", "bob", "m2"), single("bob", "alice", "m1")], NOW + 500
    )

    assert results == [
        PersistResult("si_alice_bob", 1, "srv-m1", NOW, duplicate=True),  # across batches
        PersistResult("si_alice_bob", 2, "srv-m2", NOW),
        PersistResult("si_alice_bob", 2, "srv-m2", NOW, duplicate=True),  # inside the batch
        PersistResult("si_alice_bob", 3, "srv-m1", NOW),  # same client id, other sender: a new message
    ]
    assert (await store.get_conversation_seqs(["si_alice_bob"]))["si_alice_bob"].max_seq == 3
    assert (await store.get_messages("si_alice_bob", [1]))[1].payload == b"payload of m1"
    found = await store.find_message("alice", "m1")
    assert found is not None and (found.seq, found.server_msg_id) == (1, "srv-m1")
    assert await store.find_message("alice", "nope") is None

    only_dups = await store.persist_messages([single("alice", "bob", "m2")], NOW + 600)
    assert only_dups == [PersistResult("si_alice_bob", 2, "srv-m2", NOW, duplicate=True)]
    assert (await store.get_conversation_seqs(["si_alice_bob"]))["si_alice_bob"].max_seq_time == NOW + 500


async def test_persist_creates_owner_rows_and_raises_the_readers_read_seq(store: Store) -> None:
    await store.persist_messages(
        [single("alice", "bob", "m1"), single("alice", "bob", "m2"), single("bob", "alice", "m3", reader=False)],
        NOW,
    )
    members = ("alice", "bob", "carol")
    await store.persist_messages([in_group("carol", "g1", members, "g-1")], NOW + 1)

    alice = {c.conversation_id: c for c in await store.get_user_conversations("alice")}
    bob = {c.conversation_id: c for c in await store.get_user_conversations("bob")}
    assert alice["si_alice_bob"] == UserConversation(
        "alice", "si_alice_bob", 1, user_id="bob", has_read_seq=2, create_time=NOW, update_time=NOW
    )
    assert bob["si_alice_bob"] == UserConversation(
        "bob", "si_alice_bob", 1, user_id="alice", has_read_seq=0, create_time=NOW, update_time=NOW
    )
    assert alice["sg_g1"] == UserConversation(
        "alice", "sg_g1", 3, group_id="g1", has_read_seq=0, create_time=NOW + 1, update_time=NOW + 1
    )
    carol = await store.get_user_conversations("carol", ["sg_g1", "si_x"])
    assert [(c.conversation_id, c.has_read_seq, c.user_id, c.group_id) for c in carol] == [("sg_g1", 1, "", "g1")]
    assert await store.get_conversation_owners("sg_g1") == ["alice", "bob", "carol"]

    # An existing row is not reset by later messages, and has_read_seq only goes up.
    await store.update_user_conversation("bob", "si_alice_bob", ConversationPatch(is_pinned=True, has_read_seq=3))
    await store.persist_messages([single("bob", "alice", "m4")], NOW + 2)
    row = (await store.get_user_conversations("bob", ["si_alice_bob"]))[0]
    assert (row.is_pinned, row.has_read_seq, row.create_time) == (True, 4, NOW)


async def test_concurrent_persist_is_gapless(store: Store) -> None:
    conversations = [("alice", "bob"), ("alice", "carol"), ("dave", "erin")]
    per_task = 6
    results: list[PersistResult] = []

    async def sender(task: int) -> None:
        for i in range(per_task):
            batch = [single(a, b, f"t{task}-{i}-{a}{b}") for a, b in conversations]
            results.extend(await store.persist_messages(batch, NOW + i))
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        for task in range(8):
            nursery.start_soon(sender, task)

    assert not any(r.duplicate for r in results)
    for a, b in conversations:
        cid = f"si_{a}_{b}"
        seqs = sorted(r.seq for r in results if r.conversation_id == cid)
        assert seqs == list(range(1, 8 * per_task + 1))  # no gap, no reuse
        assert (await store.get_conversation_seqs([cid]))[cid].max_seq == 8 * per_task
        stored = await store.get_message_range(cid, 1, 10_000)
        assert [m.seq for m in stored] == seqs


async def test_two_stores_racing_on_the_same_keys_stay_gapless_and_idempotent(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    """Two processes (a partition failover gone wrong) persisting overlapping batches at once."""
    other = store_factory()
    await other.open()
    try:
        outcomes: dict[str, list[PersistResult]] = {"a": [], "b": []}

        async def run(name: str, target: Store) -> None:
            for i in range(15):
                batch = [single("alice", "bob", f"shared-{i}"), single("alice", "bob", f"{name}-{i}")]
                outcomes[name].extend(await target.persist_messages(batch, NOW))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "a", store)
            nursery.start_soon(run, "b", other)
    finally:
        await other.aclose()

    everything = outcomes["a"] + outcomes["b"]
    originals = [r for r in everything if not r.duplicate]
    assert sorted(r.seq for r in originals) == list(range(1, 46))  # 15 shared + 15 + 15, dense
    by_id = {r.server_msg_id: r.seq for r in originals}
    assert len(by_id) == 45
    for r in everything:  # every duplicate reports the seq the original got
        assert by_id[r.server_msg_id] == r.seq


# -- reads ---------------------------------------------------------------------------------------------------


async def test_message_range_takes_the_newest_within_the_limit(store: Store) -> None:
    await store.persist_messages([single("alice", "bob", f"m{i}") for i in range(1, 11)], NOW)

    assert [m.seq for m in await store.get_message_range("si_alice_bob", 3, 6)] == [3, 4, 5, 6]
    assert [m.seq for m in await store.get_message_range("si_alice_bob", 1, 10, limit=3)] == [8, 9, 10]
    assert [m.seq for m in await store.get_message_range("si_alice_bob", 9, 100)] == [9, 10]
    assert await store.get_message_range("si_alice_bob", 7, 6) == []
    assert await store.get_message_range("si_other", 1, 10) == []


async def test_hidden_revoked_and_deleted_messages(store: Store) -> None:
    await store.persist_messages([single("alice", "bob", f"m{i}") for i in range(1, 6)], NOW)
    cid = "si_alice_bob"

    await store.hide_messages("alice", cid, [2, 4, 4])
    await store.hide_messages("alice", cid, [4])  # idempotent
    assert await store.get_hidden_seqs("alice", cid, [1, 2, 3, 4, 5]) == {2, 4}
    assert await store.get_hidden_seqs("bob", cid, [1, 2, 3, 4, 5]) == set()

    assert await store.set_message_revoked(cid, 3, b'{"revoker":"alice"}')
    assert not await store.set_message_revoked(cid, 3, b"again")  # once only
    assert not await store.set_message_revoked(cid, 99, b"missing")
    assert (await store.get_messages(cid, [3]))[3].revoke == b'{"revoker":"alice"}'

    assert await store.delete_messages(cid, [1, 5, 77]) == 2
    assert sorted(await store.get_messages(cid, [1, 2, 3, 4, 5])) == [2, 3, 4]
    # Seqs stay allocated: the next message continues after 5.
    (result,) = await store.persist_messages([single("bob", "alice", "m6")], NOW)
    assert result.seq == 6


async def test_raising_the_read_mark_flags_the_peers_messages_only_and_never_unflags(store: Store) -> None:
    # seqs 1-3 from alice, 4 from bob, 5-6 from alice
    batch = [single("alice", "bob", f"m{i}") for i in (1, 2, 3)] + [single("bob", "alice", "m4")]
    await store.persist_messages(batch + [single("alice", "bob", f"m{i}") for i in (5, 6)], NOW)
    cid = "si_alice_bob"

    async def read_seqs() -> list[int]:
        return sorted(seq for seq, m in (await store.get_messages(cid, range(1, 7))).items() if m.is_read)

    assert await read_seqs() == []
    assert await store.raise_has_read_seq("bob", cid, 2) == 4  # no flags asked: none set (4: his own send)
    assert await read_seqs() == []
    # bob reads (1, 3] and lists 6: his own 4 stays unflagged, 5 is neither in the range nor listed
    assert await store.raise_has_read_seq("bob", cid, 3, flag_after=1, flag_seqs=[6]) == 4
    assert await read_seqs() == [2, 3, 6]
    assert [m.is_read for m in await store.get_message_range(cid, 1, 6)] == [False, True, True, False, False, True]
    # overlapping and out-of-range seqs change nothing else; nothing goes back
    assert await store.raise_has_read_seq("bob", cid, 2, flag_seqs=[1, 2, 99]) == 4
    assert await read_seqs() == [1, 2, 3, 6]
    # alice reads up to 6: bob's 4 only (her own messages are never flagged by her)
    assert await store.raise_has_read_seq("alice", cid, 6, flag_after=0) == 6
    assert await read_seqs() == [1, 2, 3, 4, 6]
    # no row, no flag: the read mark of a conversation the user does not have changes nothing
    assert await store.raise_has_read_seq("carol", cid, 6, flag_after=0, flag_seqs=[5]) == -1
    assert await read_seqs() == [1, 2, 3, 4, 6]


# -- user conversations --------------------------------------------------------------------------------------


async def test_upsert_returns_only_real_changes(store: Store) -> None:
    a = UserConversation("alice", "si_alice_bob", 1, user_id="bob", create_time=NOW, update_time=NOW)
    b = UserConversation("alice", "sg_g1", 3, group_id="g1", create_time=NOW, update_time=NOW)

    assert await store.upsert_user_conversations([a, b]) == [a, b]  # inserted
    assert await store.upsert_user_conversations([a, b]) == []  # nothing differs

    pinned = UserConversation(
        "alice", "si_alice_bob", 1, user_id="bob", is_pinned=True, ex="x", create_time=NOW + 5, update_time=NOW + 5
    )
    changed = await store.upsert_user_conversations([b, pinned])
    # The stored row keeps its create_time; update_time moves.
    assert changed == [
        UserConversation(
            "alice", "si_alice_bob", 1, user_id="bob", is_pinned=True, ex="x", create_time=NOW, update_time=NOW + 5
        )
    ]
    assert (await store.get_user_conversations("alice", ["si_alice_bob"]))[0] == changed[0]
    assert [c.conversation_id for c in await store.get_user_conversations("alice")] == ["sg_g1", "si_alice_bob"]


async def test_update_user_conversation_and_delete(store: Store) -> None:
    row = UserConversation("alice", "sg_g1", 3, group_id="g1")
    await store.upsert_user_conversations([row])

    assert await store.update_user_conversation(
        "alice", "sg_g1", ConversationPatch(recv_msg_opt=2, is_private_chat=True, attached_info="i", min_seq=7)
    )
    assert not await store.update_user_conversation("alice", "nope", ConversationPatch(recv_msg_opt=1))
    with pytest.raises(TypeError):  # no patch field: nothing can ask the store to change it
        ConversationPatch(owner_user_id="mallory")  # type: ignore[call-arg]
    (stored,) = await store.get_user_conversations("alice", ["sg_g1"])
    assert (stored.recv_msg_opt, stored.is_private_chat, stored.attached_info, stored.min_seq) == (2, True, "i", 7)

    await store.delete_user_conversations("alice", ["sg_g1", "other"])
    assert await store.get_user_conversations("alice") == []


async def test_receive_options_lists_only_non_default_options_of_the_owner(store: Store) -> None:
    await store.upsert_user_conversations(
        [
            UserConversation("alice", "si_alice_bob", 1, user_id="bob"),
            UserConversation("alice", "sg_g1", 3, group_id="g1"),
            UserConversation("alice", "sg_g2", 3, group_id="g2"),
            UserConversation("bob", "si_alice_bob", 1, user_id="alice"),
        ]
    )
    assert await store.get_receive_options("alice") == {}
    await store.update_user_conversation("alice", "sg_g1", ConversationPatch(recv_msg_opt=2))
    await store.update_user_conversation("alice", "si_alice_bob", ConversationPatch(recv_msg_opt=1))
    await store.update_user_conversation("bob", "si_alice_bob", ConversationPatch(recv_msg_opt=2))
    assert await store.get_receive_options("alice") == {"sg_g1": 2, "si_alice_bob": 1}
    assert await store.get_receive_options("bob") == {"si_alice_bob": 2}
    assert await store.get_receive_options("carol") == {}


async def test_muted_owners_are_the_rows_of_the_conversation_with_a_non_default_option(store: Store) -> None:
    await store.upsert_user_conversations(
        [UserConversation(u, "sg_g1", 3, group_id="g1") for u in ("carol", "alice", "bob", "dave")]
        + [UserConversation("erin", "sg_g2", 3, group_id="g2")]
    )
    assert await store.get_muted_owners("sg_g1") == []
    await store.update_user_conversation("carol", "sg_g1", ConversationPatch(recv_msg_opt=2))
    await store.update_user_conversation("alice", "sg_g1", ConversationPatch(recv_msg_opt=1))
    await store.update_user_conversation("erin", "sg_g2", ConversationPatch(recv_msg_opt=2))
    assert await store.get_muted_owners("sg_g1") == ["alice", "carol"]
    assert await store.get_muted_owners("sg_g2") == ["erin"]
    assert await store.get_muted_owners("sg_none") == []


async def test_raise_has_read_seq_is_monotonic(store: Store) -> None:
    await store.upsert_user_conversations([UserConversation("alice", "si_alice_bob", 1, user_id="bob")])

    assert await store.raise_has_read_seq("alice", "si_alice_bob", 5) == 5
    assert await store.raise_has_read_seq("alice", "si_alice_bob", 3) == 5
    assert await store.raise_has_read_seq("alice", "si_alice_bob", 9) == 9
    assert await store.raise_has_read_seq("alice", "missing", 9) == -1
    assert await store.get_user_conversations("alice", ["missing"]) == []  # created nothing


# -- version logs --------------------------------------------------------------------------------------------


async def test_version_log_bump_keeps_the_newest_entry_per_element(store: Store) -> None:
    kind = VersionKind.FRIEND
    created = await store.get_version_log(kind, "alice")
    assert (created.version, created.entries, len(created.version_id)) == (1, [], 24)
    int(created.version_id, 16)  # hex

    v2 = await store.bump_version(kind, "alice", ["bob", "carol"], VersionState.INSERT)
    v3 = await store.bump_version(kind, "alice", ["bob"], VersionState.UPDATE)
    v4 = await store.bump_version(kind, "alice", ["dave", "dave"], VersionState.DELETE)
    assert [v.version for v in (v2, v3, v4)] == [2, 3, 4]
    assert {v.version_id for v in (v2, v3, v4)} == {created.version_id}  # stable until deleted

    log = await store.get_version_log(kind, "alice", since=0)
    assert log.version == 4
    assert log.entries == [
        VersionEntry("carol", VersionState.INSERT, 2),
        VersionEntry("bob", VersionState.UPDATE, 3),
        VersionEntry("dave", VersionState.DELETE, 4),
    ]
    assert (await store.get_version_log(kind, "alice", since=3)).entries == [
        VersionEntry("dave", VersionState.DELETE, 4)
    ]
    assert (await store.get_version_log(kind, "alice", since=4)).entries == []
    assert (await store.get_version_log(kind, "alice")).entries == []  # no since: header only
    # Logs are per kind and per d_id.
    assert (await store.get_version_log(VersionKind.CONVERSATION, "alice", since=0)).entries == []
    # A client may send any uint64 as its version (found by the REST fuzzer: it was errCode 500).
    far = await store.get_version_log(kind, "alice", since=2**64 - 1)
    assert (far.version, far.entries) == (4, [])


async def test_version_log_is_created_by_a_bump_and_recreated_after_delete(store: Store) -> None:
    kind = VersionKind.GROUP_MEMBER
    first = await store.bump_version(kind, "g1", ["alice", ""], VersionState.INSERT)
    assert first.version == 1
    assert (await store.get_version_log(kind, "g1", since=0)).entries == [
        VersionEntry("", VersionState.INSERT, 1),
        VersionEntry("alice", VersionState.INSERT, 1),
    ]

    await store.delete_version_log(kind, "g1")
    again = await store.get_version_log(kind, "g1", since=0)
    assert (again.version, again.entries) == (1, [])
    assert again.version_id != first.version_id


async def test_concurrent_bumps_never_share_a_version(store: Store) -> None:
    versions: list[int] = []

    async def bump(i: int) -> None:
        log = await store.bump_version(VersionKind.CONVERSATION, "alice", [f"c{i}"], VersionState.UPDATE)
        versions.append(log.version)

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(bump, i)
    assert sorted(versions) == list(range(1, 21))


# -- durability and life cycle -------------------------------------------------------------------------------


async def test_data_survives_a_restart(store: Store, store_factory: Callable[[], Store]) -> None:
    await store.insert_users([UserRecord("alice", "Alice")])
    await store.persist_messages([single("alice", "bob", "m1"), single("alice", "bob", "m2")], NOW)
    log = await store.bump_version(VersionKind.FRIEND, "alice", ["bob"], VersionState.INSERT)
    await store.aclose()

    reopened = store_factory()
    await reopened.open()
    try:
        assert await reopened.get_users(["alice"]) == [UserRecord("alice", "Alice")]
        assert (await reopened.get_conversation_seqs(["si_alice_bob"]))["si_alice_bob"].max_seq == 2
        (result,) = await reopened.persist_messages([single("bob", "alice", "m3")], NOW)
        assert result.seq == 3  # continues from the durable state
        (dup,) = await reopened.persist_messages([single("alice", "bob", "m1")], NOW)
        assert (dup.seq, dup.duplicate) == (1, True)
        assert (await reopened.get_version_log(VersionKind.FRIEND, "alice")).version_id == log.version_id
        assert [c.has_read_seq for c in await reopened.get_user_conversations("alice")] == [2]
    finally:
        await reopened.aclose()


async def test_ping_and_closed_store(store_factory: Callable[[], Store]) -> None:
    from openim.storage.port import StoreUnavailable

    opened = store_factory()
    await opened.open()
    await opened.ping()
    await opened.aclose()
    with pytest.raises(StoreUnavailable):
        await opened.get_users(["alice"])
