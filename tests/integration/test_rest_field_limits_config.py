"""The field lengths are config: a server started with ``field_limits: {nickname: 10}`` refuses an
11-character nickname at registration and on update, and takes 10."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import ServerProcess


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return "field_limits: {nickname: 10}\n"


def test_a_configured_nickname_limit_holds_on_register_and_update(server: ServerProcess) -> None:
    admin = server.admin_token()
    env = server.post("/user/user_register", {"users": [{"userID": "cfg1", "nickname": "n" * 11}]}, token=admin).json()
    assert env["errCode"] == 1001 and "at most 10" in env["errDlt"], env
    server.call("/user/user_register", {"users": [{"userID": "cfg1", "nickname": "n" * 10}]}, token=admin)
    token = server.user_token("cfg1")
    env = server.post("/user/update_user_info", {"userInfo": {"userID": "cfg1", "nickname": "m" * 11}},
                      token=token).json()  # fmt: skip
    assert env["errCode"] == 1001 and "nickname is 11 characters long, at most 10 allowed" in env["errDlt"], env
    server.call("/user/update_user_info", {"userInfo": {"userID": "cfg1", "nickname": "m" * 10}}, token=token)
