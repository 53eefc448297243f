"""/friend/get_incremental_blacks against a real server process: the blacklist's version log brings a
client from its version to the current one (inserts, deletes), tells a client without a valid version
to reload (full), and answers only the owner and app admins."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

S = str(time.time_ns())[-7:]
OWNER, B, C, D = (f"ib{n}{S}" for n in ("own", "b", "c", "d"))


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": f"N{u}"} for u in (OWNER, B, C, D)]},
                token=admin)
    return {"admin": admin, **{u: server.user_token(u) for u in (OWNER, B)}}


def incremental(server: ServerProcess, token: str, version_id: str, version: int) -> dict[str, Any]:
    data: dict[str, Any] = server.call(
        "/friend/get_incremental_blacks", {"userID": OWNER, "versionID": version_id, "version": version}, token=token
    )
    return data


def black(server: ServerProcess, tokens: dict[str, str], path: str, target: str) -> None:
    server.call(path, {"ownerUserID": OWNER, "blackUserID": target}, token=tokens[OWNER])


def test_incremental_blacks_follow_the_log(server: ServerProcess, tokens: dict[str, str]) -> None:
    first = incremental(server, tokens[OWNER], "", 0)
    assert first["full"] is True and len(first["versionID"]) == 24 and not first["insert"]
    vid, version = first["versionID"], first["version"]

    black(server, tokens, "/friend/add_black", B)
    black(server, tokens, "/friend/add_black", C)
    step = incremental(server, tokens[OWNER], vid, version)
    assert step["full"] is False and step["versionID"] == vid and step["version"] == version + 2
    assert [(b["blackUserInfo"]["userID"], b["blackUserInfo"]["nickname"]) for b in step["insert"]] == [
        (B, f"N{B}"), (C, f"N{C}")
    ]
    assert step["insert"][0]["ownerUserID"] == OWNER and step["insert"][0]["createTime"] < 10**11  # seconds
    assert not step["delete"] and not step["update"]

    black(server, tokens, "/friend/remove_black", B)
    black(server, tokens, "/friend/add_black", D)
    black(server, tokens, "/friend/add_black", D)  # already there: nothing logged
    nxt = incremental(server, tokens[OWNER], vid, step["version"])
    assert nxt["version"] == step["version"] + 2
    assert nxt["delete"] == [B] and [b["blackUserInfo"]["userID"] for b in nxt["insert"]] == [D]

    current = incremental(server, tokens[OWNER], vid, nxt["version"])
    assert current["full"] is False and not current["insert"] and not current["delete"]
    # A version the log never had, or another log's ID: reload.
    assert incremental(server, tokens[OWNER], vid, nxt["version"] + 5)["full"] is True
    assert incremental(server, tokens[OWNER], "0123456789abcdef01234567", 1)["full"] is True
    # The admin reads the same log.
    assert incremental(server, tokens["admin"], vid, nxt["version"])["version"] == nxt["version"]


def test_only_the_owner_or_an_admin(server: ServerProcess, tokens: dict[str, str]) -> None:
    body = {"userID": OWNER, "versionID": "", "version": 0}
    assert server.post("/friend/get_incremental_blacks", body, token=tokens[B]).json()["errCode"] == 1002
    empty = {"userID": "", "versionID": "", "version": 0}
    assert server.post("/friend/get_incremental_blacks", empty, token=tokens[OWNER]).json()["errCode"] == 1001
    bad = {"userID": OWNER, "versionID": "", "version": "x"}
    assert server.post("/friend/get_incremental_blacks", bad, token=tokens[OWNER]).json()["errCode"] == 1001
