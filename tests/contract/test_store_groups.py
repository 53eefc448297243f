"""The GroupStore contract on SQLite AND PostgreSQL: groups, members, requests, and the version-log and
conversation-row writes every membership change makes in its own transaction."""

from __future__ import annotations

import pytest

from openim.storage.groups.port import GROUP_CHANGED_MARKER, SORT_MARKER
from openim.storage.groups.records import (
    GroupMemberRecord,
    GroupPatch,
    GroupRecord,
    GroupRequestRecord,
    GroupStatus,
    HandleResult,
    MemberPatch,
    RoleLevel,
)
from openim.storage.messages.records import NewMessage, UserRecord, VersionKind, VersionState
from openim.storage.port import AlreadyExists, Store

NOW = 1_700_000_000_000


def member(group: str, user: str, role: int = RoleLevel.ORDINARY, join: int = NOW) -> GroupMemberRecord:
    return GroupMemberRecord(group, user, role_level=role, join_time=join, inviter_user_id="u1")


async def make_group(store: Store, group: str = "g1", users: tuple[str, ...] = ("u1", "u2", "u3")) -> None:
    members = [member(group, users[0], RoleLevel.OWNER)] + [
        member(group, u, join=NOW + i + 1) for i, u in enumerate(users[1:])
    ]
    await store.create_group(
        GroupRecord(group, group_name=f"name {group}", owner_user_id=users[0], create_time=NOW), members
    )


def group_message(group: str, client_msg_id: str, owners: tuple[str, ...]) -> NewMessage:
    return NewMessage(
        conversation_id=f"sg_{group}",
        send_id=owners[0],
        client_msg_id=client_msg_id,
        server_msg_id=f"s-{client_msg_id}",
        send_time=NOW,
        session_type=3,
        content_type=101,
        payload=b"x",
        group_id=group,
        owners=owners,
        conversation_type=3,
    )


async def test_create_group_writes_members_logs_and_conversation_rows(store: Store) -> None:
    await make_group(store)
    [group] = await store.get_groups(["g1", "nope"])
    assert (group.group_name, group.owner_user_id, group.status) == ("name g1", "u1", GroupStatus.OK)
    members = await store.get_group_members("g1")
    assert [(m.user_id, m.role_level) for m in members] == [("u1", 100), ("u2", 20), ("u3", 20)]
    assert await store.count_group_members(["g1", "nope"]) == {"g1": 3, "nope": 0}
    log = await store.get_version_log(VersionKind.GROUP_MEMBER, "g1", since=0)
    assert {(e.e_id, e.state) for e in log.entries} == {(u, VersionState.INSERT) for u in ("u1", "u2", "u3")}
    for user in ("u1", "u2", "u3"):
        join = await store.get_version_log(VersionKind.GROUP_JOIN, user, since=0)
        assert [(e.e_id, e.state) for e in join.entries] == [("g1", VersionState.INSERT)]
        [row] = await store.get_user_conversations(user, ["sg_g1"])
        assert (row.conversation_type, row.group_id, row.max_seq) == (3, "g1", 0)
    assert await store.get_joined_group_ids("u2") == ["g1"]
    assert await store.get_joined_group_ids("u2", min_role=RoleLevel.ADMIN) == []


async def test_create_group_with_a_taken_id_writes_nothing(store: Store) -> None:
    await make_group(store)
    with pytest.raises(AlreadyExists):
        await store.create_group(GroupRecord("g1"), [member("g1", "u9", RoleLevel.OWNER)])
    assert await store.get_joined_group_ids("u9") == []
    assert await store.get_user_conversations("u9") == []


async def test_add_skips_members_and_reopens_frozen_rows(store: Store) -> None:
    await make_group(store)
    added, log = await store.add_group_members("g1", [member("g1", "u2"), member("g1", "u4", join=NOW + 9)])
    assert added == ["u4"]
    assert log.version == 2
    assert [m.user_id for m in await store.get_group_members("g1")] == ["u1", "u2", "u3", "u4"]
    # u4 leaves after one message, comes back: the frozen cap is cleared.
    await store.persist_messages([group_message("g1", "m1", ("u1", "u2", "u3", "u4"))], NOW)
    removed, log = await store.remove_group_members("g1", ["u4", "u9"])
    assert removed == ["u4"] and log.version == 3
    [row] = await store.get_user_conversations("u4", ["sg_g1"])
    assert row.max_seq == 1
    join = await store.get_version_log(VersionKind.GROUP_JOIN, "u4", since=1)
    assert [(e.e_id, e.state) for e in join.entries] == [("g1", VersionState.DELETE)]
    await store.add_group_members("g1", [member("g1", "u4", join=NOW + 20)])
    [row] = await store.get_user_conversations("u4", ["sg_g1"])
    assert row.max_seq == 0


async def test_remove_without_messages_drops_the_row(store: Store) -> None:
    await make_group(store)
    removed, _ = await store.remove_group_members("g1", ["u3"])
    assert removed == ["u3"]
    assert await store.get_user_conversations("u3", ["sg_g1"]) == []
    removed, log = await store.remove_group_members("g1", ["u3"])
    assert removed == [] and log.version == 2  # nothing removed, nothing logged


async def test_update_group_and_member_log_markers(store: Store) -> None:
    await make_group(store)
    log = await store.update_group("g1", GroupPatch(group_name="renamed", status=int(GroupStatus.MUTED)))
    assert log is not None and log.version == 2
    assert await store.update_group("nope", GroupPatch(group_name="x")) is None
    [group] = await store.get_groups(["g1"])
    assert (group.group_name, group.status) == ("renamed", GroupStatus.MUTED)
    log = await store.update_group_member("g1", "u2", MemberPatch(role_level=60), sort_changed=True)
    assert log is not None and log.version == 3
    assert await store.update_group_member("g1", "u9", MemberPatch(nickname="x")) is None
    entries = (await store.get_version_log(VersionKind.GROUP_MEMBER, "g1", since=1)).entries
    assert {(e.e_id, e.state, e.version) for e in entries} == {
        (GROUP_CHANGED_MARKER, VersionState.UPDATE, 2),
        ("u2", VersionState.UPDATE, 3),
        (SORT_MARKER, VersionState.UPDATE, 3),
    }
    with pytest.raises(TypeError):  # no patch field: nothing can ask the store to change it
        MemberPatch(group_id="x")  # type: ignore[call-arg]


async def test_member_order_paging_and_keyword(store: Store) -> None:
    await store.insert_users([UserRecord("u1", "Owner"), UserRecord("u2", "Zed"), UserRecord("u3", "Amy")])
    await make_group(store)
    await store.update_group_member("g1", "u3", MemberPatch(role_level=60))
    await store.update_group_member("g1", "u2", MemberPatch(nickname="Bobby"))
    total, page = await store.page_group_members("g1", offset=0, limit=2)
    assert total == 3 and [m.user_id for m in page] == ["u1", "u3"]
    total, page = await store.page_group_members("g1", offset=2, limit=2)
    assert [m.user_id for m in page] == ["u2"]
    assert [m.user_id for m in (await store.page_group_members("g1", offset=0, limit=9, keyword="amy"))[1]] == ["u3"]
    assert [m.user_id for m in (await store.page_group_members("g1", offset=0, limit=9, keyword="BOB"))[1]] == ["u2"]
    # "zed" is u2's profile name, hidden by the member nickname
    assert (await store.page_group_members("g1", offset=0, limit=9, keyword="zed"))[0] == 0
    assert [m.user_id for m in await store.get_group_members("g1", ["u2", "u1", "u9"])] == ["u1", "u2"]


async def test_transfer_swaps_roles_and_unmutes(store: Store) -> None:
    await make_group(store)
    await store.update_group_member("g1", "u2", MemberPatch(mute_end_time=NOW * 2))
    log = await store.transfer_group_owner("g1", "u1", "u2", RoleLevel.ORDINARY)
    roles = {m.user_id: (m.role_level, m.mute_end_time) for m in await store.get_group_members("g1")}
    assert roles == {"u1": (20, 0), "u2": (100, 0), "u3": (20, 0)}
    assert (await store.get_groups(["g1"]))[0].owner_user_id == "u2"
    entries = (await store.get_version_log(VersionKind.GROUP_MEMBER, "g1", since=log.version - 1)).entries
    assert {e.e_id for e in entries} == {SORT_MARKER, "u1", "u2"}


async def test_dismiss_keeps_or_deletes_members(store: Store) -> None:
    await make_group(store, "g1")
    await make_group(store, "g2")
    assert await store.dismiss_group("g1", delete_members=False) == []
    assert (await store.get_groups(["g1"]))[0].status == GroupStatus.DISMISSED
    assert len(await store.get_group_members("g1")) == 3
    before = await store.get_version_log(VersionKind.GROUP_MEMBER, "g2")
    assert await store.dismiss_group("g2", delete_members=True) == ["u1", "u2", "u3"]
    assert await store.get_group_members("g2") == []
    assert await store.get_joined_group_ids("u2") == ["g1"]
    after = await store.get_version_log(VersionKind.GROUP_MEMBER, "g2")
    assert after.version_id != before.version_id  # the log was deleted and recreated empty


async def test_search_groups(store: Store) -> None:
    await make_group(store, "g1")
    await make_group(store, "g2")
    total, page = await store.search_groups(offset=0, limit=10, name="NAME G")
    assert total == 2 and [g.group_id for g in page] == ["g1", "g2"]
    total, page = await store.search_groups(offset=0, limit=10, group_id="g2")
    assert total == 1 and page[0].group_id == "g2"
    total, page = await store.search_groups(offset=1, limit=10)
    assert total == 2 and [g.group_id for g in page] == ["g2"]


async def test_requests_replace_filter_and_handle_once(store: Store) -> None:
    await store.save_group_request(GroupRequestRecord("g1", "u5", req_msg="first", req_time=NOW))
    await store.save_group_request(GroupRequestRecord("g1", "u5", req_msg="again", req_time=NOW + 1))
    await store.save_group_request(GroupRequestRecord("g2", "u5", req_msg="other", req_time=NOW + 2))
    await store.save_group_request(GroupRequestRecord("g1", "u6", req_time=NOW + 3))
    total, rows = await store.get_group_requests(group_ids=["g1"])
    assert total == 2 and [(r.user_id, r.req_msg) for r in rows] == [("u6", ""), ("u5", "again")]
    total, rows = await store.get_group_requests(user_ids=["u5"], offset=1, limit=1)
    assert total == 2 and [r.group_id for r in rows] == ["g1"]
    assert (await store.get_group_requests(group_ids=[]))[0] == 0
    assert await store.handle_group_request(
        "g1", "u5", handle_result=HandleResult.ACCEPTED, handle_msg="ok", handle_user_id="u1", now_ms=NOW + 5
    )
    assert not await store.handle_group_request(
        "g1", "u5", handle_result=HandleResult.REFUSED, handle_msg="no", handle_user_id="u1", now_ms=NOW + 6
    )
    assert not await store.handle_group_request(
        "g9", "u5", handle_result=HandleResult.REFUSED, handle_msg="no", handle_user_id="u1", now_ms=NOW + 6
    )
    total, rows = await store.get_group_requests(group_ids=["g1"], handle_results=[HandleResult.PENDING])
    assert [r.user_id for r in rows] == ["u6"]
    _, [handled] = await store.get_group_requests(group_ids=["g1"], user_ids=["u5"])
    assert (handled.handle_result, handled.handle_msg, handled.handle_user_id, handled.handle_time) == (
        1,
        "ok",
        "u1",
        NOW + 5,
    )


async def test_pending_requests_are_counted_for_the_groups_a_user_administers(store: Store) -> None:
    await make_group(store, "g1", ("u1", "u2", "u3"))
    await make_group(store, "g2", ("u2", "u1"))
    await store.update_group_member("g1", "u2", MemberPatch(role_level=RoleLevel.ADMIN))
    await store.save_group_request(GroupRequestRecord("g1", "u5", req_time=NOW + 10))
    await store.save_group_request(GroupRequestRecord("g1", "u6", req_time=NOW + 20))
    await store.save_group_request(GroupRequestRecord("g2", "u7", req_time=NOW + 30))
    await store.handle_group_request(
        "g1", "u6", handle_result=HandleResult.REFUSED, handle_msg="", handle_user_id="u1", now_ms=NOW + 40
    )
    # u1 owns g1 and is an ordinary member of g2; u2 administers g1 and owns g2; u3 administers nothing.
    assert await store.count_pending_group_requests("u1", RoleLevel.ADMIN) == 1
    assert await store.count_pending_group_requests("u2", RoleLevel.ADMIN) == 2
    assert await store.count_pending_group_requests("u2", RoleLevel.ADMIN, NOW + 10) == 1
    assert await store.count_pending_group_requests("u3", RoleLevel.ADMIN) == 0
    assert await store.count_pending_group_requests("u3", RoleLevel.ORDINARY) == 1
