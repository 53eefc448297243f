"""A small WebSocket client for the integration suites: one logged-in connection that sends requests the
way the JS SDK does (query keys unencoded, JSON envelopes in binary frames) and waits for their replies.

Shared by the authorization suites (test_read_authorization.py, test_authorization_matrix.py,
test_login_race.py); takes the server's URL, not the fixture, so it imports without conftest.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio_websocket

from openim.wire.envelope import WsResponse, decode_response, encode_request

WAIT_S = 10.0
WEB = 5
HANDSHAKE_OK = '{"errCode":0,"errMsg":"","errDlt":""}'


def op_id() -> str:
    return f"op{time.time_ns()}"


def ws_url(base: str, user_id: str, token: str, platform_id: int = WEB) -> str:
    params = {
        "sendID": user_id,
        "token": token,
        "platformID": str(platform_id),
        "operationID": op_id(),
        "isBackground": "false",
        "isMsgResp": "true",
        "sdkType": "js",
    }
    return base + "?" + "&".join(f"{k}={v}" for k, v in params.items())


class WsClient:
    """One connection; frames that are not the awaited reply are kept in ``others``."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, user_id: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.others: list[str | WsResponse] = []
        self._n = 0

    async def frame(self, timeout: float = WAIT_S) -> str | WsResponse:
        with trio.fail_after(timeout):
            msg = await self.ws.get_message()
        return msg if isinstance(msg, str) else decode_response(msg)

    async def request(self, req_id: int, data: bytes) -> WsResponse:
        self._n += 1
        msg_incr = f"{self.user_id}-{self._n}"
        await self.ws.send_message(encode_request(req_id, msg_incr, self.user_id, op_id(), data))
        while True:
            f = await self.frame()
            if isinstance(f, WsResponse) and f.msg_incr == msg_incr:
                return f
            self.others.append(f)


@asynccontextmanager
async def ws_login(base: str, user_id: str, token: str, platform_id: int = WEB) -> AsyncIterator[WsClient]:
    async with trio_websocket.open_websocket_url(ws_url(base, user_id, token, platform_id)) as ws:
        client = WsClient(ws, user_id)
        first = await client.frame()
        assert first == HANDSHAKE_OK, first
        yield client
