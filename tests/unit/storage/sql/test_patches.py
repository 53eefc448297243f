"""Patches (what an update sets on a row) and the one helper that turns a patch into the columns of its
``SET`` clause: sorted pairs, so the SQL text depends only on which columns change."""

from __future__ import annotations

import typing
from dataclasses import fields
from typing import Any

import pytest

from openim.storage.groups import queries as group_queries
from openim.storage.groups.records import GroupMemberRecord, GroupPatch, GroupRecord, MemberPatch
from openim.storage.messages import queries as message_queries
from openim.storage.messages.records import (
    USER_CONVERSATION_MUTABLE,
    ConversationPatch,
    Patch,
    UserConversation,
    UserPatch,
    UserRecord,
)
from openim.storage.relations import queries as relation_queries
from openim.storage.relations.records import FriendPatch, FriendRecord
from openim.storage.sql.rows import patch_columns, set_clause
from openim.storage.sql.txn import Stmt, Txn

PATCHES: list[tuple[type[Patch], type]] = [
    (UserPatch, UserRecord),
    (ConversationPatch, UserConversation),
    (FriendPatch, FriendRecord),
    (GroupPatch, GroupRecord),
    (MemberPatch, GroupMemberRecord),
]


def test_pairs_are_the_set_fields_sorted_by_column() -> None:
    patch = GroupPatch(status=3, ex="e", group_name="n")
    assert patch_columns(patch) == [("ex", "e"), ("group_name", "n"), ("status", 3)]
    assert set_clause(patch, 2) == ("ex = $2, group_name = $3, status = $4", ("e", "n", 3))


def test_an_empty_patch_has_no_pairs() -> None:
    assert patch_columns(UserPatch()) == []
    assert UserPatch().changed() == {}


def test_falsy_values_are_changes_and_none_is_not() -> None:
    patch = ConversationPatch(is_pinned=False, recv_msg_opt=0, ex="", min_seq=None)
    assert patch_columns(patch) == [("ex", ""), ("is_pinned", False), ("recv_msg_opt", 0)]


def test_changed_keeps_the_declaration_order() -> None:
    assert list(MemberPatch(ex="e", role_level=60, nickname="n").changed()) == ["role_level", "nickname", "ex"]


def test_applied_to_and_changes_to() -> None:
    row = UserConversation("o", "c", 1, recv_msg_opt=2, ex="x")
    patch = ConversationPatch(recv_msg_opt=2, ex="y", is_pinned=True)
    assert patch.applied_to(row) == UserConversation("o", "c", 1, recv_msg_opt=2, ex="y", is_pinned=True)
    assert patch.changes_to(row) == ConversationPatch(ex="y", is_pinned=True)
    assert ConversationPatch(recv_msg_opt=2).changes_to(row).changed() == {}


@pytest.mark.parametrize(("patch_type", "record_type"), PATCHES)
def test_a_patch_field_is_its_record_attribute_made_optional(patch_type: type[Patch], record_type: type) -> None:
    record_hints = typing.get_type_hints(record_type)
    for name, hint in typing.get_type_hints(patch_type).items():
        assert name in record_hints, f"{patch_type.__name__}.{name} is no column of {record_type.__name__}"
        assert hint == record_hints[name] | None
    assert all(f.default is None for f in fields(patch_type))


def test_an_upsert_overwrites_what_a_conversation_patch_may_set() -> None:
    assert {f.name for f in fields(ConversationPatch)} == USER_CONVERSATION_MUTABLE


def first(body: Txn[Any]) -> Stmt:
    """The first statement ``body`` runs (the update itself; the version-log writes follow)."""
    stmt = next(body)
    body.close()
    return stmt


def test_the_update_bodies_set_the_sorted_columns_after_their_keys() -> None:
    user = first(message_queries.update_user("u", UserPatch(nickname="n", face_url="f")))
    assert user.sql == "UPDATE users SET face_url = $2, nickname = $3 WHERE user_id = $1"
    assert user.args == ("u", "f", "n")
    conversation = first(message_queries.update_user_conversation("o", "c", ConversationPatch(ex="e")))
    assert conversation.sql.startswith("UPDATE user_conversations SET ex = $3 WHERE")
    friends = first(relation_queries.update_friends("o", ["f"], FriendPatch(remark="r", is_pinned=True)))
    assert "SET is_pinned = $2, remark = $3 WHERE" in friends.sql and friends.args == ("o", True, "r")
    group = first(group_queries.update_group("g", GroupPatch(status=1)))
    assert (group.sql, group.args) == ("UPDATE groups SET status = $2 WHERE group_id = $1", ("g", 1))
    member = first(group_queries.update_group_member("g", "u", MemberPatch(role_level=60)))
    assert member.sql.startswith("UPDATE group_members SET role_level = $3 WHERE") and member.args == ("g", "u", 60)


def test_an_empty_patch_only_looks_the_row_up() -> None:
    assert first(message_queries.update_user("u", UserPatch())).sql.startswith("SELECT 1 FROM users")
    member = first(group_queries.update_group_member("g", "u", MemberPatch()))
    assert member.sql.startswith("SELECT 1 FROM group_members")
