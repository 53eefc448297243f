"""The one read rule (openim.services.read_access) on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openim.services.read_access import chat_twins, readable
from openim.storage.messages.records import UserConversation
from openim.storage.sql.sqlite import SqliteStore

pytestmark = pytest.mark.trio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "r.db")
    await s.open()
    await s.upsert_user_conversations(
        [
            UserConversation("alice", "si_alice_bob", 1, user_id="bob"),
            UserConversation("alice", "sg_team_a", 3, group_id="team_a"),  # a group ID with an underscore
            UserConversation("alice", "sn_alice_sys", 4, user_id="sys"),
            UserConversation("bob", "si_alice_bob", 1, user_id="alice"),
        ]
    )
    yield s
    await s.aclose()


async def test_chat_twins_cover_every_chat_prefix() -> None:
    assert chat_twins("n_a_b") == ("si_a_b", "sn_a_b", "sg_a_b", "g_a_b")


async def test_owner_reads_chats_and_their_notification_streams(store: SqliteStore) -> None:
    asked = ["si_alice_bob", "n_alice_bob", "sg_team_a", "n_team_a", "sn_alice_sys", "n_alice_sys", "n_alice_alice"]
    access = await readable(store, "alice", asked)
    assert [c for c in asked if access.allows(c)] == asked
    assert access.row("si_alice_bob") is not None and access.row("n_alice_bob") is None


async def test_others_read_nothing_they_do_not_own(store: SqliteStore) -> None:
    asked = ["si_alice_bob", "n_alice_bob", "sg_team_a", "n_team_a", "n_alice_alice", "n_bob_bob", "", "x"]
    mallory = await readable(store, "mallory", asked)
    assert [c for c in asked if mallory.allows(c)] == []
    bob = await readable(store, "bob", asked)
    assert [c for c in asked if bob.allows(c)] == ["si_alice_bob", "n_alice_bob", "n_bob_bob"]


async def test_nothing_asked_reads_nothing(store: SqliteStore) -> None:
    access = await readable(store, "alice", [])
    assert not access.rows and not access.streams
