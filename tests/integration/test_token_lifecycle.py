"""Tokens over their life, against a real server process: concurrent logins of one user on one platform
leave exactly one session and one valid token, the newest (issue 12 item 7); expired and kicked tokens
are purged on a schedule (item 8; this module's server purges every second, kicked tokens after 4 s)."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

import jwt
import pytest
import trio
import trio_websocket

from tests.integration.wsclient import HANDSHAKE_OK, WsClient, ws_url

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

SUFFIX = str(time.time_ns())[-8:]
KICK_REQ = 2002
SETTLE_S = 1.5


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return "auth: {token_purge_interval: 1s, kicked_token_retention: 4s}\n"


def issued_ms(server: ServerProcess, token: str) -> int:
    """When the server issued the token (its row's create_time; the same as the token's iat_ms claim)."""
    with sqlite3.connect(server.data_dir / "openim.db") as db:
        row = db.execute("SELECT create_time FROM tokens WHERE token = ?", (token,)).fetchone()
    claim = jwt.decode(token, options={"verify_signature": False}).get("iat_ms")
    assert claim is None or claim == row[0]
    return int(row[0])


def parse_code(server: ServerProcess, token: str) -> int:
    return int(server.post("/auth/parse_token", {"token": token}).json()["errCode"])


async def _session(server: ServerProcess, user: str, token: str, alive: dict[str, bool]) -> None:
    """Log in with ``token`` and stay until kicked, refused, or SETTLE_S after the others started."""
    alive[token] = False
    try:
        async with trio_websocket.open_websocket_url(ws_url(server.ws_url, user, token)) as ws:
            client = WsClient(ws, user)
            if await client.frame() != HANDSHAKE_OK:
                return  # refused: its token was retired before it got in
            alive[token] = True
            with trio.move_on_after(SETTLE_S):
                while True:
                    frame = await client.frame(timeout=SETTLE_S * 2)
                    if not isinstance(frame, str) and frame.req_identifier == KICK_REQ:
                        alive[token] = False
                        return
    except trio_websocket.ConnectionClosed:
        alive[token] = False


@pytest.mark.trio
@pytest.mark.parametrize("trial", range(5))
async def test_concurrent_logins_leave_only_the_newest(server: ServerProcess, trial: int) -> None:
    user = f"lr{trial}{SUFFIX}"
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": user, "nickname": user}]}, token=admin)
    tokens: list[str] = []
    alive: dict[str, bool] = {}
    issued: dict[str, int] = {}

    body = {"userID": user, "platformID": 5}

    async def login() -> None:
        data = await trio.to_thread.run_sync(lambda: server.call("/auth/get_user_token", body, token=admin))
        token = str(data["token"])
        tokens.append(token)
        issued[token] = issued_ms(server, token)  # now: kicked rows are purged after a few seconds
        await _session(server, user, token, alive)

    async with trio.open_nursery() as nursery:  # whole logins race: token requests and connections
        for _ in range(6):
            nursery.start_soon(login)
    newest = max(tokens, key=issued.__getitem__)
    assert [t for t in tokens if alive[t]] == [newest], {issued[t]: alive[t] for t in tokens}
    assert [t for t in tokens if parse_code(server, t) == 0] == [newest]


def _token_rows(server: ServerProcess, user: str) -> int:
    with sqlite3.connect(server.data_dir / "openim.db") as db:
        return int(db.execute("SELECT count(*) FROM tokens WHERE user_id = ?", (user,)).fetchone()[0])


def test_kicked_tokens_are_purged_on_schedule(server: ServerProcess) -> None:
    user = f"tp{SUFFIX}"
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": user, "nickname": user}]}, token=admin)
    first = server.user_token(user)
    second = server.user_token(user)  # same platform: the first is kicked
    assert parse_code(server, first) in (1506, 1507)
    deadline = time.monotonic() + 15
    while _token_rows(server, user) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _token_rows(server, user) == 1
    assert parse_code(server, first) == 1507  # gone, not merely kicked
    assert parse_code(server, second) == 0
