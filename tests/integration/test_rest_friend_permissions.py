"""Who may call each /friend/* route: every route x {the user it acts for, another user, an app admin}
-> allowed (the exact errCode the state gives) or refused with 1002 NoPermissionError, over HTTP against
a real server. Routes about a pair (is_friend, get_designated_friend_apply) accept either user of the
pair; import_friend is for admins only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

OWNER, FRIEND, OTHER, STRANGER = "pmowner", "pmfriend", "pmother", "pmstranger"
PAGE = {"pageNumber": 1, "showNumber": 10}
DENIED = 1002


@dataclass(frozen=True)
class Case:
    path: str
    body: dict[str, Any]
    # errCode per caller role; "other" is always 1002 unless a case says otherwise.
    self_code: int = 0
    admin_code: int = 0
    other_code: int = DENIED
    prepare: str = ""  # a Setup method to run before each call, so every role meets the same state


CASES = [
    Case("/friend/get_incremental_friends", {"userID": OWNER, "version": 0, "versionID": ""}),
    Case("/friend/get_full_friend_user_ids", {"userID": OWNER, "idHash": 0}),
    Case("/friend/get_designated_friends", {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}),
    Case("/friend/add_friend", {"fromUserID": OWNER, "toUserID": STRANGER, "reqMsg": "hi"}),
    Case(
        "/friend/add_friend_response",
        {"fromUserID": STRANGER, "toUserID": OWNER, "handleResult": -1},
        prepare="stranger_applies",
    ),
    Case("/friend/get_self_friend_apply_list", {"userID": OWNER, "pagination": PAGE}),
    Case("/friend/get_friend_apply_list", {"userID": OWNER, "pagination": PAGE}),
    Case("/friend/get_designated_friend_apply", {"fromUserID": OWNER, "toUserID": STRANGER}),
    Case("/friend/delete_friend", {"ownerUserID": OWNER, "friendUserID": FRIEND}, prepare="befriend"),
    Case("/friend/is_friend", {"userID1": OWNER, "userID2": FRIEND}),
    Case("/friend/get_friend_list", {"userID": OWNER, "pagination": PAGE}),
    Case("/friend/get_friend_id", {"userID": OWNER}),
    Case("/friend/get_specified_friends_info", {"ownerUserID": OWNER, "userIDList": [FRIEND]}),
    Case(
        "/friend/update_friends",
        {"ownerUserID": OWNER, "friendUserIDs": [FRIEND], "remark": "r", "isPinned": True},
        prepare="befriend",
    ),
    Case(
        "/friend/set_friend_remark", {"ownerUserID": OWNER, "friendUserID": FRIEND, "remark": "r"}, prepare="befriend"
    ),
    Case("/friend/add_black", {"ownerUserID": OWNER, "blackUserID": STRANGER}),
    Case("/friend/remove_black", {"ownerUserID": OWNER, "blackUserID": STRANGER}, prepare="black"),
    Case("/friend/get_black_list", {"userID": OWNER, "pagination": PAGE}),
    Case("/friend/get_specified_blacks", {"ownerUserID": OWNER, "userIDList": [STRANGER]}),
    Case("/friend/get_incremental_blacks", {"userID": OWNER, "versionID": "", "version": 0}),
    Case("/friend/import_friend", {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}, self_code=DENIED),
]


class Setup:
    def __init__(self, server: ServerProcess, tokens: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens

    def _ok(self, path: str, body: dict[str, Any], token: str) -> None:
        assert call(self.server, path, body, token) == 0, path

    def befriend(self) -> None:
        self._ok("/friend/import_friend", {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}, self.tokens["admin"])

    def stranger_applies(self) -> None:
        self._ok("/friend/add_friend", {"fromUserID": STRANGER, "toUserID": OWNER}, self.tokens[STRANGER])

    def black(self) -> None:
        self._ok("/friend/add_black", {"ownerUserID": OWNER, "blackUserID": STRANGER}, self.tokens[OWNER])


def call(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> int:
    resp = httpx.post(
        server.api_url + path, json=body, headers={"operationID": f"pm-{time.time_ns()}", "token": token}, timeout=15
    )
    assert resp.status_code == 200, resp.text
    return int(resp.json()["errCode"])


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    ids = (OWNER, FRIEND, OTHER, STRANGER)
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ids]}, token=admin)
    out = {u: server.user_token(u) for u in ids}
    out["admin"] = admin
    return out


@pytest.mark.parametrize("role", ["self", "other", "admin"])
@pytest.mark.parametrize("case", CASES, ids=[c.path.removeprefix("/friend/") for c in CASES])
def test_permission_matrix(server: ServerProcess, tokens: dict[str, str], case: Case, role: str) -> None:
    setup = Setup(server, tokens)
    if case.prepare:
        prepare: Callable[[], None] = getattr(setup, case.prepare)
        prepare()
    token = {"self": tokens[OWNER], "other": tokens[OTHER], "admin": tokens["admin"]}[role]
    expected = {"self": case.self_code, "other": case.other_code, "admin": case.admin_code}[role]
    assert call(server, case.path, case.body, token) == expected


@pytest.mark.parametrize("path", ["/friend/is_friend", "/friend/get_designated_friend_apply"])
def test_pair_routes_accept_the_second_user(server: ServerProcess, tokens: dict[str, str], path: str) -> None:
    body = (
        {"userID1": OWNER, "userID2": FRIEND}
        if path.endswith("is_friend")
        else {"fromUserID": OWNER, "toUserID": FRIEND}
    )
    assert call(server, path, body, tokens[FRIEND]) == 0
