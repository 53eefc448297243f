"""/group/* against a real server process: the permission matrix (each route x owner, admin, member,
non-member, app admin), verification modes of join and invite, applications, validations, and the
version-log sync the SDK runs at login."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from openim.services.versioning import id_hash
from openim.wire.pb import jssdk_pb2

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

PEOPLE = ("own", "adm", "adm2", "mem", "tgt", "out", "app", "new")
ROLES = ("owner", "admin", "member", "nonmember", "appadmin")
_counter = itertools.count()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    """Users g_own (owner), g_adm/g_adm2 (admins), g_mem/g_tgt (members), g_out (never a member),
    g_app (applicant), g_new (to invite); 'appadmin' is imAdmin."""
    admin = server.admin_token()
    server.call(
        "/user/user_register", {"users": [{"userID": f"g_{p}", "nickname": f"N {p}"} for p in PEOPLE]}, token=admin
    )
    out = {p: server.user_token(f"g_{p}") for p in PEOPLE}
    out["appadmin"] = admin
    return out


def code(server: ServerProcess, path: str, body: Any, token: str) -> int:
    resp = server.post(path, body, token=token)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["errCode"])


def new_group(server: ServerProcess, tokens: dict[str, str], *, verification: int = 0) -> str:
    group_id = f"grp{next(_counter)}x{id(tokens) % 997}"
    server.call(
        "/group/create_group",
        {
            "ownerUserID": "g_own",
            "memberUserIDs": ["g_mem", "g_tgt"],
            "adminUserIDs": ["g_adm", "g_adm2"],
            "groupInfo": {"groupID": group_id, "groupName": "matrix", "groupType": 2, "needVerification": verification},
        },
        token=tokens["own"],
    )
    return group_id


ROLE_USER = {"owner": "own", "admin": "adm", "member": "mem", "nonmember": "out", "appadmin": "appadmin"}

Body = Callable[[str], dict[str, Any]]


def _info_legacy(g: str) -> dict[str, Any]:
    return {"groupInfoForSet": {"groupID": g, "groupName": "legacy"}}


# route, request body for group g, expected errCode per role (owner, admin, member, non-member, app admin)
MATRIX: list[tuple[str, str, Body, tuple[int, int, int, int, int]]] = [
    ("kick member", "/group/kick_group", lambda g: {"groupID": g, "kickedUserIDs": ["g_tgt"]}, (0, 0, 1002, 1002, 0)),
    (
        "kick admin",
        "/group/kick_group",
        lambda g: {"groupID": g, "kickedUserIDs": ["g_adm2"]},
        (0, 1002, 1002, 1002, 0),
    ),
    (
        "mute member",
        "/group/mute_group_member",
        lambda g: {"groupID": g, "userID": "g_tgt", "mutedSeconds": 60},
        (0, 0, 1002, 1004, 0),
    ),
    (
        "mute admin",
        "/group/mute_group_member",
        lambda g: {"groupID": g, "userID": "g_adm2", "mutedSeconds": 60},
        (0, 1002, 1002, 1004, 0),
    ),
    (
        "cancel mute member",
        "/group/cancel_mute_group_member",
        lambda g: {"groupID": g, "userID": "g_tgt"},
        (0, 0, 1002, 1004, 0),
    ),
    ("mute group", "/group/mute_group", lambda g: {"groupID": g}, (0, 0, 1002, 1004, 0)),
    ("cancel mute group", "/group/cancel_mute_group", lambda g: {"groupID": g}, (0, 0, 1002, 1004, 0)),
    ("set info ex", "/group/set_group_info_ex", lambda g: {"groupID": g, "groupName": "x"}, (0, 0, 1002, 1004, 0)),
    ("set info legacy", "/group/set_group_info", _info_legacy, (0, 0, 1002, 1004, 0)),
    ("dismiss", "/group/dismiss_group", lambda g: {"groupID": g}, (0, 1002, 1002, 1002, 0)),
    (
        "transfer",
        "/group/transfer_group",
        lambda g: {"groupID": g, "oldOwnerUserID": "g_own", "newOwnerUserID": "g_tgt"},
        (0, 1002, 1002, 1002, 0),
    ),
    (
        "member nickname",
        "/group/set_group_member_info",
        lambda g: {"members": [{"groupID": g, "userID": "g_tgt", "nickname": "tee"}]},
        (0, 0, 1002, 1002, 0),
    ),
    (
        "member role",
        "/group/set_group_member_info",
        lambda g: {"members": [{"groupID": g, "userID": "g_tgt", "roleLevel": 60}]},
        (0, 0, 1002, 1002, 0),
    ),
    (
        "admin role",
        "/group/set_group_member_info",
        lambda g: {"members": [{"groupID": g, "userID": "g_adm2", "roleLevel": 20}]},
        (0, 1002, 1002, 1002, 0),
    ),
    (
        "invite",
        "/group/invite_user_to_group",
        lambda g: {"groupID": g, "invitedUserIDs": ["g_new"], "reason": ""},
        (0, 0, 0, 1004, 0),
    ),
    (
        "member list",
        "/group/get_group_member_list",
        lambda g: {"groupID": g, "filter": 0, "pagination": {"pageNumber": 1, "showNumber": 10}},
        (0, 0, 0, 1002, 0),
    ),
    (
        "full member ids",
        "/group/get_full_group_member_user_ids",
        lambda g: {"groupID": g, "idHash": 0},
        (0, 0, 0, 1002, 0),
    ),
    (
        "answer application",
        "/group/group_application_response",
        lambda g: {"groupID": g, "fromUserID": "g_app", "handledMsg": "", "handleResult": 1},
        (0, 0, 1002, 1004, 0),
    ),
    (
        "read others' application",
        "/group/get_specified_user_group_request_info",
        lambda g: {"groupID": g, "userID": "g_app"},
        (0, 0, 1002, 1002, 0),
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "role", "expected"),
    [
        pytest.param(path, body, role, codes[i], id=f"{name}-{role}")
        for name, path, body, codes in MATRIX
        for i, role in enumerate(ROLES)
    ],
)
def test_permission_matrix(
    server: ServerProcess, tokens: dict[str, str], path: str, body: Body, role: str, expected: int
) -> None:
    group_id = new_group(server, tokens)
    if path in ("/group/group_application_response", "/group/get_specified_user_group_request_info"):
        server.call(
            "/group/join_group",
            {"groupID": group_id, "reqMessage": "let me in", "joinSource": 3, "inviterUserID": "g_app"},
            token=tokens["app"],
        )
    assert code(server, path, body(group_id), tokens[ROLE_USER[role]]) == expected


def test_quit_rules(server: ServerProcess, tokens: dict[str, str]) -> None:
    group_id = new_group(server, tokens)
    assert code(server, "/group/quit_group", {"groupID": group_id, "userID": "g_own"}, tokens["own"]) == 1002
    assert code(server, "/group/quit_group", {"groupID": group_id, "userID": "g_mem"}, tokens["adm"]) == 1002
    assert code(server, "/group/quit_group", {"groupID": group_id, "userID": "g_out"}, tokens["out"]) == 1004
    assert code(server, "/group/quit_group", {"groupID": group_id, "userID": "g_mem"}, tokens["mem"]) == 0
    ids = server.call("/group/get_group_member_user_id", {"groupID": group_id}, token=tokens["own"])["userIDs"]
    assert ids == ["g_own", "g_adm", "g_adm2", "g_tgt"]


def test_kick_validations(server: ServerProcess, tokens: dict[str, str]) -> None:
    group_id = new_group(server, tokens)
    kick = "/group/kick_group"
    assert code(server, kick, {"groupID": group_id, "kickedUserIDs": []}, tokens["own"]) == 1001
    assert code(server, kick, {"groupID": group_id, "kickedUserIDs": ["g_own"]}, tokens["appadmin"]) == 1001
    assert code(server, kick, {"groupID": group_id, "kickedUserIDs": ["g_out"]}, tokens["own"]) == 1101
    assert code(server, kick, {"groupID": group_id, "kickedUserIDs": ["g_tgt", "g_tgt"]}, tokens["own"]) == 1001


def test_create_group_validations(server: ServerProcess, tokens: dict[str, str]) -> None:
    create = "/group/create_group"
    body: dict[str, Any] = {"ownerUserID": "g_own", "memberUserIDs": ["g_mem"], "groupInfo": {"groupType": 1}}
    assert code(server, create, body, tokens["own"]) == 1001
    body["groupInfo"] = {"groupType": 2}
    assert code(server, create, body, tokens["mem"]) == 1002  # acting for someone else
    assert code(server, create, {**body, "memberUserIDs": ["nobody-here"]}, tokens["own"]) == 1101
    assert code(server, create, {**body, "memberUserIDs": ["g_own"]}, tokens["own"]) == 1001
    data = server.call(create, body, token=tokens["own"])["groupInfo"]
    assert data["groupID"].isdigit() and data["memberCount"] == 2 and data["creatorUserID"] == "g_own"
    body["groupInfo"] = {"groupType": 2, "groupID": data["groupID"]}
    assert code(server, create, body, tokens["own"]) == 1202


def test_join_modes_and_applications(server: ServerProcess, tokens: dict[str, str]) -> None:
    join = "/group/join_group"
    direct = new_group(server, tokens, verification=2)
    req = {"groupID": direct, "reqMessage": "hi", "joinSource": 3, "inviterUserID": "g_app"}
    assert code(server, join, req, tokens["out"]) == 1002  # applying for someone else
    server.call(join, req, token=tokens["app"])
    assert code(server, join, req, tokens["app"]) == 1001  # already in
    assert (
        "g_app" in server.call("/group/get_group_member_user_id", {"groupID": direct}, token=tokens["own"])["userIDs"]
    )

    approval = new_group(server, tokens, verification=0)
    server.call(join, {**req, "groupID": approval}, token=tokens["app"])
    page = {"pageNumber": 1, "showNumber": 20}
    recv = server.call(
        "/group/get_recv_group_applicationList", {"fromUserID": "g_adm", "pagination": page}, token=tokens["adm"]
    )
    mine = [r for r in recv["groupRequests"] if r["groupInfo"]["groupID"] == approval]
    assert len(mine) == 1 and mine[0]["userInfo"]["userID"] == "g_app" and mine[0]["handleResult"] == 0
    made = server.call(
        "/group/get_user_req_group_applicationList", {"userID": "g_app", "pagination": page}, token=tokens["app"]
    )
    assert approval in [r["groupInfo"]["groupID"] for r in made["groupRequests"]]
    answer = {"groupID": approval, "fromUserID": "g_app", "handledMsg": "no", "handleResult": -1}
    server.call("/group/group_application_response", answer, token=tokens["adm"])
    assert code(server, "/group/group_application_response", answer, tokens["own"]) == 1206
    specified = server.call(
        "/group/get_specified_user_group_request_info", {"groupID": approval, "userID": "g_app"}, token=tokens["app"]
    )
    assert specified["total"] == 1 and specified["groupRequests"][0]["handleResult"] == -1
    assert (
        "g_app"
        not in server.call("/group/get_group_member_user_id", {"groupID": approval}, token=tokens["own"])["userIDs"]
    )
    # a new application resets the request; accepting it lets the applicant in
    server.call(join, {**req, "groupID": approval}, token=tokens["app"])
    server.call("/group/group_application_response", {**answer, "handleResult": 1}, token=tokens["own"])
    assert (
        "g_app" in server.call("/group/get_group_member_user_id", {"groupID": approval}, token=tokens["own"])["userIDs"]
    )
    users_req = server.call(
        "/group/get_group_users_req_application_list", {"groupID": approval, "userIDs": ["g_app"]}, token=tokens["own"]
    )
    assert users_req["total"] == 1 and users_req["groupRequests"][0]["handleResult"] == 1

    # needVerification 1: an ordinary member's invitation becomes an application, an admin's does not
    strict = new_group(server, tokens, verification=1)
    invite = "/group/invite_user_to_group"
    server.call(invite, {"groupID": strict, "invitedUserIDs": ["g_new"], "reason": "friend"}, token=tokens["mem"])
    ids = server.call("/group/get_group_member_user_id", {"groupID": strict}, token=tokens["own"])["userIDs"]
    assert "g_new" not in ids
    pending = server.call(
        "/group/get_specified_user_group_request_info", {"groupID": strict, "userID": "g_new"}, token=tokens["own"]
    )
    assert pending["groupRequests"][0]["inviterUserID"] == "g_mem"
    server.call(invite, {"groupID": strict, "invitedUserIDs": ["g_new"], "reason": ""}, token=tokens["adm"])
    ids = server.call("/group/get_group_member_user_id", {"groupID": strict}, token=tokens["own"])["userIDs"]
    assert "g_new" in ids


def test_member_list_order_paging_and_profile_fill(server: ServerProcess, tokens: dict[str, str]) -> None:
    group_id = new_group(server, tokens)
    first = server.call(
        "/group/get_group_member_list",
        {"groupID": group_id, "filter": 0, "keyword": "", "pagination": {"pageNumber": 1, "showNumber": 3}},
        token=tokens["mem"],
    )
    assert first["total"] == 5
    assert [(m["userID"], m["roleLevel"]) for m in first["members"]] == [("g_own", 100), ("g_adm", 60), ("g_adm2", 60)]
    assert first["members"][0]["nickname"] == "N own"
    found = server.call(
        "/group/get_group_member_list",
        {"groupID": group_id, "filter": 0, "keyword": "n tgt", "pagination": {"pageNumber": 1, "showNumber": 3}},
        token=tokens["mem"],
    )
    assert [m["userID"] for m in found["members"]] == ["g_tgt"]
    assert (
        code(
            server,
            "/group/get_group_member_list",
            {"groupID": group_id, "filter": 9, "pagination": {"pageNumber": 1, "showNumber": 3}},
            tokens["mem"],
        )
        == 1001
    )
    info = server.call(
        "/group/get_group_members_info", {"groupID": group_id, "userIDs": ["g_tgt", "g_out"]}, token=tokens["mem"]
    )
    assert [m["userID"] for m in info["members"]] == ["g_tgt"]
    joined = server.call(
        "/group/get_joined_group_list",
        {"fromUserID": "g_tgt", "pagination": {"pageNumber": 1, "showNumber": 500}},
        token=tokens["tgt"],
    )
    assert group_id in [g["groupID"] for g in joined["groups"]] and joined["total"] >= 1
    assert (
        code(
            server,
            "/group/get_joined_group_list",
            {"fromUserID": "g_tgt", "pagination": {"pageNumber": 1, "showNumber": 5}},
            tokens["mem"],
        )
        == 1002
    )


def test_login_sync_routes(server: ServerProcess, tokens: dict[str, str]) -> None:
    """What the SDK calls at login, then again after changes: full first, diffs afterwards."""
    tgt = tokens["tgt"]
    first = server.call(
        "/group/get_incremental_join_groups", {"userID": "g_tgt", "version": 0, "versionID": ""}, token=tgt
    )
    assert first["full"] is True and len(first["versionID"]) == 24
    assert (first["insert"], first["update"], first["delete"]) == (None, None, None)
    group_id = new_group(server, tokens)
    later = server.call(
        "/group/get_incremental_join_groups",
        {"userID": "g_tgt", "version": first["version"], "versionID": first["versionID"]},
        token=tgt,
    )
    assert later["full"] is False and [g["groupID"] for g in later["insert"]] == [group_id]
    assert later["insert"][0]["memberCount"] == 5

    full = server.call("/group/get_full_join_group_ids", {"userID": "g_tgt", "idHash": 0}, token=tgt)
    assert group_id in full["groupIDs"] and full["version"] == later["version"]
    same = server.call(
        "/group/get_full_join_group_ids", {"userID": "g_tgt", "idHash": id_hash(full["groupIDs"])}, token=tgt
    )
    assert same["equal"] is True and same["groupIDs"] in (None, [])

    batch = server.call(
        "/group/get_incremental_group_members_batch",
        {"userID": "g_tgt", "reqList": [{"groupID": group_id, "version": 0, "versionID": ""}, {"groupID": "nope"}]},
        token=tgt,
    )
    one = batch["respList"][group_id]
    assert list(batch["respList"]) == [group_id]
    assert one["full"] is True and one["group"]["groupID"] == group_id and one["insert"] is None
    server.call(
        "/group/set_group_member_info",
        {"members": [{"groupID": group_id, "userID": "g_mem", "nickname": "em"}]},
        token=tokens["mem"],
    )
    diff = server.call(
        "/group/get_incremental_group_members_batch",
        {
            "userID": "g_tgt",
            "reqList": [{"groupID": group_id, "version": one["version"], "versionID": one["versionID"]}],
        },
        token=tgt,
    )["respList"][group_id]
    assert diff["full"] is False and [m["nickname"] for m in diff["update"]] == ["em"]
    assert diff["insert"] is None and diff["delete"] is None
    single = server.call(
        "/group/get_incremental_group_members",
        {"groupID": group_id, "version": diff["version"], "versionID": diff["versionID"]},
        token=tgt,
    )
    assert single["full"] is False and single["group"] is None
    members = server.call("/group/get_full_group_member_user_ids", {"groupID": group_id, "idHash": 0}, token=tgt)
    assert members["userIDs"] == ["g_own", "g_adm", "g_adm2", "g_mem", "g_tgt"]
    assert members["version"] == diff["version"]
    assert code(server, "/group/get_incremental_join_groups", {"userID": "g_mem", "version": 0}, tgt) == 1002


def test_dismissed_group_refuses_changes_and_leaves_the_batch(server: ServerProcess, tokens: dict[str, str]) -> None:
    group_id = new_group(server, tokens)
    server.call("/group/dismiss_group", {"groupID": group_id, "deleteMember": False}, token=tokens["own"])
    assert code(server, "/group/dismiss_group", {"groupID": group_id}, tokens["own"]) == 1204
    assert code(server, "/group/mute_group", {"groupID": group_id}, tokens["own"]) == 1204
    assert (
        code(server, "/group/invite_user_to_group", {"groupID": group_id, "invitedUserIDs": ["g_new"]}, tokens["own"])
        == 1204
    )
    info = server.call("/group/get_groups_info", {"groupIDs": [group_id]}, token=tokens["out"])["groupInfos"]
    assert info[0]["status"] == 2
    batch = server.call(
        "/group/get_incremental_group_members_batch",
        {"userID": "g_mem", "reqList": [{"groupID": group_id, "version": 0, "versionID": ""}]},
        token=tokens["mem"],
    )
    assert batch["respList"] == {}
    assert code(server, "/group/get_groups_info", {"groupIDs": []}, tokens["out"]) == 1001


def test_get_groups_and_abstract_info(server: ServerProcess, tokens: dict[str, str]) -> None:
    group_id = new_group(server, tokens)
    found = server.call(
        "/group/get_groups",
        {"groupID": group_id, "pagination": {"pageNumber": 1, "showNumber": 5}},
        token=tokens["out"],
    )
    assert found["total"] == 1 and found["groups"][0]["groupOwnerUserName"] == "N own"
    abstract = server.call("/group/get_group_abstract_info", {"groupIDs": [group_id]}, token=tokens["mem"])
    [entry] = abstract["groupAbstractInfos"]
    assert entry["groupMemberNumber"] == 5
    assert entry["groupMemberListHash"] == id_hash(sorted(["g_own", "g_adm", "g_adm2", "g_mem", "g_tgt"]))


def test_group_messages_revoke_roles_and_the_jssdk_group(server: ServerProcess, tokens: dict[str, str]) -> None:
    """A group message sent through the admin REST API: the owner may revoke a member's message, a
    member may not revoke another's; the SDK's conversation list carries the group."""
    group_id = new_group(server, tokens)
    conversation_id = f"sg_{group_id}"

    def send_as(sender: str, text: str) -> int:
        server.call(
            "/msg/send_msg",
            {
                "sendID": sender,
                "groupID": group_id,
                "sessionType": 3,
                "contentType": 101,
                "content": {"content": text},
            },
            token=tokens["appadmin"],
        )
        seqs = server.call("/msg/newest_seq", {"userID": "g_tgt"}, token=tokens["tgt"])["maxSeqs"]
        return int(seqs[conversation_id])

    adm_seq = send_as("g_adm", "from the admin")
    mem_seq = send_as("g_mem", "from a member")
    revoke = "/msg/revoke_msg"
    assert (
        code(server, revoke, {"conversationID": conversation_id, "seq": mem_seq, "userID": "g_tgt"}, tokens["tgt"])
        == 1002
    )
    assert (
        code(server, revoke, {"conversationID": conversation_id, "seq": adm_seq, "userID": "g_adm2"}, tokens["adm2"])
        == 1002
    )
    assert (
        code(server, revoke, {"conversationID": conversation_id, "seq": mem_seq, "userID": "g_adm2"}, tokens["adm2"])
        == 0
    )
    assert (
        code(server, revoke, {"conversationID": conversation_id, "seq": adm_seq, "userID": "g_own"}, tokens["own"]) == 0
    )

    resp = httpx.post(
        server.api_url + "/jssdk/get_active_conversations",
        content=jssdk_pb2.GetActiveConversationsReq(ownerUserID="g_tgt", count=100).SerializeToString(),
        headers={"operationID": "op-grp-jssdk", "token": tokens["tgt"], "Content-Type": "application/x-protobuf"},
        timeout=15,
    )
    active = jssdk_pb2.GetActiveConversationsResp.FromString(base64.b64decode(resp.json()["data"]))
    [mine] = [c for c in active.conversations if c.conversation.conversationID == conversation_id]
    assert (mine.group.groupID, mine.group.groupName, mine.group.memberCount) == (group_id, "matrix", 5)
