"""On a server with the default config: /conversation/get_conversation_offline_push_user_ids (who of a
conversation's users gets offline pushes: not those whose recvMsgOpt turns its messages down; app admins
only) and /third/prometheus without ops.grafana_url (a clear 404, not a redirect to nowhere)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

S = str(time.time_ns())[-7:]
OWNER, MUTED, SILENT, PLAIN = (f"op{n}{S}" for n in ("own", "mut", "sil", "pla"))
GROUP = f"opg{S}"
CONV = f"sg_{GROUP}"
PATH = "/conversation/get_conversation_offline_push_user_ids"


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    """A group of four; MUTED set recvMsgOpt 2 (no notification) on it, SILENT 1 (receive nothing)."""
    admin = server.admin_token()
    users = (OWNER, MUTED, SILENT, PLAIN)
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in users]}, token=admin)
    tokens = {"admin": admin, **{u: server.user_token(u) for u in users}}
    server.call(
        "/group/create_group",
        {"ownerUserID": OWNER, "memberUserIDs": [MUTED, SILENT, PLAIN],
         "groupInfo": {"groupID": GROUP, "groupName": "g", "groupType": 2}},
        token=tokens[OWNER],
    )
    for user, opt in ((MUTED, 2), (SILENT, 1)):
        server.call(
            "/conversation/set_conversations",
            {"userIDs": [user], "conversation": {"conversationID": CONV, "conversationType": 3, "groupID": GROUP,
                                                 "recvMsgOpt": opt}},
            token=tokens[user],
        )
    return tokens


def ask(server: ServerProcess, token: str, body: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = server.post(PATH, body, token=token).json()
    return env


def test_users_who_turned_the_conversation_down_get_no_offline_push(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    stranger = f"nobody{S}"  # no row for the conversation: nothing turns it down
    env = ask(server, tokens["admin"], {"conversationID": CONV,
                                        "userIDs": [PLAIN, MUTED, OWNER, SILENT, stranger, PLAIN]})
    assert env["errCode"] == 0 and env["data"]["userIDs"] == [PLAIN, OWNER, stranger]
    # Back to the default: pushed again.
    server.call(
        "/conversation/set_conversations",
        {"userIDs": [MUTED], "conversation": {"conversationID": CONV, "conversationType": 3, "groupID": GROUP,
                                              "recvMsgOpt": 0}},
        token=tokens[MUTED],
    )
    assert ask(server, tokens["admin"], {"conversationID": CONV, "userIDs": [MUTED]})["data"]["userIDs"] == [MUTED]
    assert not ask(server, tokens["admin"], {"conversationID": CONV, "userIDs": []})["data"]["userIDs"]


def test_bad_input_and_callers(server: ServerProcess, tokens: dict[str, str]) -> None:
    assert ask(server, tokens["admin"], {"conversationID": "", "userIDs": [OWNER]})["errCode"] == 1001
    assert ask(server, tokens["admin"], {"conversationID": CONV, "userIDs": [None]})["errCode"] == 1001
    for user in (OWNER, PLAIN):  # even the group's owner: it tells other users' settings
        assert ask(server, tokens[user], {"conversationID": CONV, "userIDs": [OWNER]})["errCode"] == 1002


def test_grafana_link_without_a_configured_url_is_a_clear_404(server: ServerProcess) -> None:
    resp = httpx.get(server.api_url + "/third/prometheus", follow_redirects=False, timeout=10)
    assert resp.status_code == 404 and "location" not in resp.headers
    env = resp.json()
    assert env["errCode"] == 1004 and "ops.grafana_url" in env["errDlt"]
