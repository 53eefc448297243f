"""Senders' read marks: what a reader sees after a send, and what survives a restart, on both backends.

SQLite writes the marks of existing rows behind (openim.storage.sql.read_marks): the last tests look at its
database file directly to show that, and that nothing is lost when the store flushes or closes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from openim.storage.port import Store
from openim.storage.sql.sqlite import SqliteStore
from openim.storage.sql.store import SqlStore
from tests.contract.test_store_persist import NOW, message


async def marks_of(store: Store, owner: str) -> dict[str, int]:
    return {c.conversation_id: c.has_read_seq for c in await store.get_user_conversations(owner)}


async def test_a_senders_mark_follows_his_messages_at_once_and_survives_a_restart(
    store_factory: Callable[[], Store],
) -> None:
    store = store_factory()
    await store.open()
    try:
        await store.persist_messages([message("alice", "bob", "m1")], NOW)  # creates both rows
        await store.persist_messages([message("bob", "alice", "m2"), message("alice", "bob", "m3")], NOW)
        await store.persist_messages([message("alice", "bob", "m4"), message("alice", "carol", "m5")], NOW)
        # readers see each sender's newest own message as read as soon as the send returned
        assert await marks_of(store, "alice") == {"si_alice_bob": 4, "si_alice_carol": 1}
        assert await marks_of(store, "bob") == {"si_alice_bob": 2}
        assert await marks_of(store, "carol") == {"si_alice_carol": 0}
        [row] = await store.get_user_conversations("alice", ["si_alice_bob"])
        assert row.has_read_seq == 4
        # an explicit read mark below the pending one does not lower it; above it, it wins
        assert await store.raise_has_read_seq("alice", "si_alice_bob", 3) == 4
        assert await store.raise_has_read_seq("bob", "si_alice_bob", 4) == 4
    finally:
        await store.aclose()
    store = store_factory()  # the server after a clean restart
    await store.open()
    try:
        assert await marks_of(store, "alice") == {"si_alice_bob": 4, "si_alice_carol": 1}
        assert await marks_of(store, "bob") == {"si_alice_bob": 4}
    finally:
        await store.aclose()


@pytest.mark.parametrize("flushed", [False, True], ids=["pending", "just-written"])
async def test_a_deleted_conversation_row_does_not_come_back_with_an_old_mark(store: Store, flushed: bool) -> None:
    await store.persist_messages([message("alice", "bob", "m1")], NOW)
    await store.persist_messages([message("alice", "bob", "m2")], NOW)
    if flushed:
        assert isinstance(store, SqlStore)
        await store.flush_read_marks()  # SQLite: the mark is written, and still laid over reads for a while
    await store.delete_user_conversations("alice", ["si_alice_bob"])
    assert await marks_of(store, "alice") == {}
    await store.persist_messages([message("bob", "alice", "m3")], NOW)  # the row is created again
    assert await marks_of(store, "alice") == {"si_alice_bob": 0}


def _stored_marks(path: Path, owner: str) -> dict[str, int]:
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute(
            "SELECT conversation_id, has_read_seq FROM user_conversations WHERE owner_user_id = ?", (owner,)
        ).fetchall()
    finally:
        conn.close()
    return {cid: seq for cid, seq in rows}


async def test_sqlite_writes_the_marks_of_existing_rows_behind_and_flushes_them(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "openim.db")
    await store.open()
    try:
        await store.persist_messages([message("alice", "bob", "m1")], NOW)
        assert _stored_marks(store.path, "alice") == {"si_alice_bob": 1}  # a new row is created with its mark
        await store.persist_messages([message("alice", "bob", "m2"), message("alice", "bob", "m3")], NOW)
        assert _stored_marks(store.path, "alice") == {"si_alice_bob": 1}  # not written with the messages...
        assert await marks_of(store, "alice") == {"si_alice_bob": 3}  # ...but every reader sees it
        assert await store.flush_read_marks() == 1
        assert _stored_marks(store.path, "alice") == {"si_alice_bob": 3}
        assert await store.flush_read_marks() == 0
        await store.persist_messages([message("alice", "bob", "m4")], NOW)
        with trio.fail_after(5):  # the store's own loop writes them within a second or so
            while _stored_marks(store.path, "alice") != {"si_alice_bob": 4}:
                await trio.sleep(0.05)
        await store.persist_messages([message("alice", "bob", "m5")], NOW)
    finally:
        await store.aclose()  # writes what is pending
    assert _stored_marks(store.path, "alice") == {"si_alice_bob": 5}
