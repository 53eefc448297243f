"""persist_messages on batch shapes the send path produces, on SQLite AND PostgreSQL.

One conversation many times in one batch, duplicates inside and across batches mixed, readers that are
not owners, a group's member rows ensured in the same batch as its messages, large batches, and ids with
characters that need escaping (the bulk statements carry rows as arrays or JSON text, not one
parameter per value).
"""

from __future__ import annotations

from openim.storage.messages.records import ConversationPatch, NewMessage, PersistResult, UserConversation, UserRecord
from openim.storage.port import Store

NOW = 1_700_000_000_000


def message(
    sender: str,
    peer: str,
    client_msg_id: str,
    *,
    owners: tuple[str, ...] | None = None,
    reader: str | None = None,
    payload: bytes | None = None,
) -> NewMessage:
    a, b = sorted((sender, peer))
    return NewMessage(
        conversation_id=f"si_{a}_{b}",
        send_id=sender,
        client_msg_id=client_msg_id,
        server_msg_id=f"srv-{client_msg_id}",
        send_time=NOW,
        session_type=1,
        content_type=101,
        payload=payload if payload is not None else f"payload of {client_msg_id}".encode(),
        recv_id=peer,
        owners=(sender, peer) if owners is None else owners,
        conversation_type=1,
        reader_user_id=sender if reader is None else reader,
    )


def group_message(sender: str, group: str, client_msg_id: str, owners: tuple[str, ...]) -> NewMessage:
    return NewMessage(
        conversation_id=f"sg_{group}",
        send_id=sender,
        client_msg_id=client_msg_id,
        server_msg_id=f"srv-{client_msg_id}",
        send_time=NOW,
        session_type=3,
        content_type=101,
        payload=client_msg_id.encode(),
        group_id=group,
        owners=owners,
        conversation_type=3,
        reader_user_id=sender,
    )


async def test_one_conversation_many_times_in_one_large_batch(store: Store) -> None:
    # More rows than one SQLite statement used to take (1,000), alternating senders.
    batch = [message("alice" if i % 3 else "bob", "bob" if i % 3 else "alice", f"m{i}") for i in range(1, 2501)]
    results = await store.persist_messages(batch, NOW)

    assert [r.seq for r in results] == list(range(1, 2501))
    assert all(r.conversation_id == "si_alice_bob" and not r.duplicate for r in results)
    assert (await store.get_conversation_seqs(["si_alice_bob"]))["si_alice_bob"].max_seq == 2500
    stored = await store.get_message_range("si_alice_bob", 1, 10_000, limit=5000)
    assert [(m.seq, m.client_msg_id) for m in stored] == [(i, f"m{i}") for i in range(1, 2501)]
    # One row per owner; each reader's has_read_seq is his last message of the batch.
    alice = await store.get_user_conversations("alice")
    bob = await store.get_user_conversations("bob")
    assert [(c.conversation_id, c.user_id, c.has_read_seq) for c in alice] == [("si_alice_bob", "bob", 2500)]
    assert [(c.conversation_id, c.user_id, c.has_read_seq) for c in bob] == [("si_alice_bob", "alice", 2499)]


async def test_duplicates_inside_and_across_batches_mixed(store: Store) -> None:
    await store.persist_messages([message("alice", "bob", "old1"), message("bob", "alice", "old2")], NOW)

    batch = [
        message("alice", "carol", "n1"),
        message("alice", "bob", "old1", payload=b"retry"),  # stored before
        message("alice", "carol", "n1", payload=b"again"),  # repeated inside the batch
        message("bob", "alice", "n2"),
        message("alice", "carol", "n1"),  # a third time
        message("bob", "alice", "old2"),
        message("carol", "alice", "n1"),  # same client id, another sender: a new message
    ]
    results = await store.persist_messages(batch, NOW + 1)

    assert results == [
        PersistResult("si_alice_carol", 1, "srv-n1", NOW),
        PersistResult("si_alice_bob", 1, "srv-old1", NOW, duplicate=True),
        PersistResult("si_alice_carol", 1, "srv-n1", NOW, duplicate=True),
        PersistResult("si_alice_bob", 3, "srv-n2", NOW),
        PersistResult("si_alice_carol", 1, "srv-n1", NOW, duplicate=True),
        PersistResult("si_alice_bob", 2, "srv-old2", NOW, duplicate=True),
        PersistResult("si_alice_carol", 2, "srv-n1", NOW),
    ]
    seqs = await store.get_conversation_seqs(["si_alice_bob", "si_alice_carol"])
    assert (seqs["si_alice_bob"].max_seq, seqs["si_alice_carol"].max_seq) == (3, 2)
    assert (await store.get_messages("si_alice_carol", [1]))[1].payload == b"payload of n1"  # the first one
    assert (await store.get_messages("si_alice_bob", [1]))[1].payload == b"payload of old1"

    # A batch of nothing but duplicates changes nothing.
    again = await store.persist_messages([message("bob", "alice", "n2"), message("bob", "alice", "n2")], NOW + 2)
    assert again == [PersistResult("si_alice_bob", 3, "srv-n2", NOW, duplicate=True)] * 2
    assert (await store.get_conversation_seqs(["si_alice_bob"]))["si_alice_bob"].max_seq_time == NOW + 1


async def test_readers_and_owners_are_independent(store: Store) -> None:
    batch = [
        message("alice", "bob", "m1", owners=("bob",)),  # the reader is not an owner: his row is created too
        message("alice", "bob", "m2", owners=("bob",), reader=""),  # no reader: nobody's read seq moves
        message("carol", "dave", "m3", owners=(), reader=""),  # no row at all
        message("erin", "erin", "m4", owners=("erin",)),  # to oneself: one owner row
    ]
    results = await store.persist_messages(batch, NOW)
    assert [r.seq for r in results] == [1, 2, 1, 1]

    alice = await store.get_user_conversations("alice")
    assert alice == [
        UserConversation("alice", "si_alice_bob", 1, user_id="bob", has_read_seq=1, create_time=NOW, update_time=NOW)
    ]
    assert [(c.user_id, c.has_read_seq) for c in await store.get_user_conversations("bob")] == [("alice", 0)]
    assert await store.get_user_conversations("carol") == []
    assert await store.get_conversation_owners("si_carol_dave") == []
    assert [(c.conversation_id, c.user_id, c.has_read_seq) for c in await store.get_user_conversations("erin")] == [
        ("si_erin_erin", "erin", 1)
    ]


async def test_group_member_rows_ensured_with_the_groups_messages(store: Store) -> None:
    members = tuple(f"u{i:03d}" for i in range(600))
    await store.persist_messages([group_message("u001", "g", "first", ("u001",))], NOW)
    await store.update_user_conversation("u001", "sg_g", ConversationPatch(is_pinned=True))

    batch = [
        group_message("u005", "g", "g1", members),  # the send path names every member now and then
        group_message("u007", "g", "g2", ("u007",)),
        group_message("u005", "g", "g3", ("u005",)),
        group_message("u001", "g", "g4", members),
    ]
    results = await store.persist_messages(batch, NOW + 1)
    assert [r.seq for r in results] == [2, 3, 4, 5]

    owners = await store.get_conversation_owners("sg_g")
    assert owners == sorted(members)
    read = {u: (await store.get_user_conversations(u, ["sg_g"]))[0] for u in ("u001", "u005", "u007", "u599")}
    assert {u: c.has_read_seq for u, c in read.items()} == {"u001": 5, "u005": 4, "u007": 3, "u599": 0}
    # The existing row kept its settings and creation time; new rows name the group, not a peer.
    assert (read["u001"].is_pinned, read["u001"].create_time) == (True, NOW)
    assert (read["u599"].conversation_type, read["u599"].group_id, read["u599"].user_id) == (3, "g", "")
    assert read["u599"].create_time == NOW + 1


async def test_ids_that_need_escaping_survive_the_bulk_statements(store: Store) -> None:
    odd = ['quo"te', "back\\slash", "ünïcödé 🙂", "new\nline", "[1,2]", "123", "it's", " "]
    await store.insert_users([UserRecord(u, nickname=u) for u in odd])
    assert [u.user_id for u in await store.get_users(list(reversed(odd)))] == list(reversed(odd))

    batch = [message(u, "peer", f'c"{i}\\') for i, u in enumerate(odd)]
    results = await store.persist_messages(batch, NOW)
    assert all(r.seq == 1 and not r.duplicate for r in results)
    duplicates = await store.persist_messages(batch, NOW)
    assert [(r.seq, r.duplicate) for r in duplicates] == [(1, True)] * len(odd)
    for u, r in zip(odd, results, strict=True):
        found = await store.find_message(u, r.server_msg_id.removeprefix("srv-"))
        assert found is not None and found.send_id == u and found.conversation_id == r.conversation_id
        rows = await store.get_user_conversations(u, [r.conversation_id])
        assert [(c.user_id, c.has_read_seq) for c in rows] == [("peer", 1)]
