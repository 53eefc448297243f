"""Rates and throttles of a real server process (docs/operations.md, "Security"): per-user send rate
over the gateway and REST, per-user login rate over REST and the gateway, admin-secret guessing per
address, and the refusals counted in /metrics and the console's figures.

The limits are set low through the environment so that a few requests reach them.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio
import trio_websocket

from openim.wire.constants import ReqIdentifier
from openim.wire.envelope import decode_response, encode_request
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from conftest import ServerProcess

SEND_BURST = 5
LOGIN_BURST = 4
SECRET_ATTEMPTS = 3


@pytest.fixture(scope="module")
def server_env_extra() -> dict[str, str]:
    return {
        "OPENIM_SECURITY__SEND_RATE": "1",
        "OPENIM_SECURITY__SEND_BURST": str(SEND_BURST),
        "OPENIM_SECURITY__LOGIN_RATE_USER": "0.01",
        "OPENIM_SECURITY__LOGIN_BURST_USER": str(LOGIN_BURST),
        "OPENIM_SECURITY__ADMIN_SECRET_ATTEMPTS": str(SECRET_ATTEMPTS),
        "OPENIM_SECURITY__ADMIN_SECRET_BACKOFF": "60s",
    }


@pytest.fixture(scope="module")
def people(server: ServerProcess) -> dict[str, str]:
    suffix = str(time.time_ns())[-9:]
    ids = {role: f"rl{role}{suffix}" for role in ("alice", "bob", "carol", "dave")}
    server.call(
        "/user/user_register",
        {"users": [{"userID": uid, "nickname": role} for role, uid in ids.items()]},
        token=server.admin_token(),
    )
    return ids


def _metric(server: ServerProcess, limit: str) -> float:
    text = httpx.get(server.api_url + "/metrics", timeout=5).text
    name = f'openim_limit_refusals_total{{limit="{limit}"}}'
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def _ws_url(server: ServerProcess, user_id: str, token: str) -> str:
    return (
        f"{server.ws_url}?sendID={user_id}&token={token}&platformID=5&operationID=o{time.time_ns()}"
        "&isBackground=false&isMsgResp=true&sdkType=js"
    )


def _msg(send_id: str, recv_id: str) -> bytes:
    return sdkws_pb2.MsgData(
        sendID=send_id, recvID=recv_id, clientMsgID=f"c{time.time_ns()}", senderPlatformID=5, sessionType=1,
        msgFrom=100, contentType=101, content=b'{"content":"hi"}', createTime=int(time.time() * 1000), status=1,
    ).SerializeToString()


async def _send_many(server: ServerProcess, user_id: str, to: str, count: int) -> list[tuple[int, str]]:
    """Log in over the gateway and send ``count`` messages back to back: each reply's (errCode, errDlt)."""
    async with trio_websocket.open_websocket_url(_ws_url(server, user_id, server.user_token(user_id))) as ws:
        with trio.fail_after(20):
            assert json.loads(await ws.get_message())["errCode"] == 0
            for i in range(count):
                frame = encode_request(ReqIdentifier.SEND_MSG, f"m{i}", user_id, f"o{i}", _msg(user_id, to))
                await ws.send_message(frame)
            replies: dict[str, tuple[int, str]] = {}
            while len(replies) < count:
                frame = await ws.get_message()
                if isinstance(frame, bytes):
                    r = decode_response(frame)
                    if r.req_identifier == ReqIdentifier.SEND_MSG and r.msg_incr.startswith("m"):
                        replies[r.msg_incr] = (r.err_code, r.err_msg)
    return [replies[f"m{i}"] for i in range(count)]


# -- item 12: sends ---------------------------------------------------------------------------------------


@pytest.mark.trio
async def test_a_user_sending_past_the_burst_is_refused_and_others_are_not(
    server: ServerProcess, people: dict[str, str]
) -> None:
    before = _metric(server, "send_rate")
    results = await _send_many(server, people["alice"], people["bob"], 3 * SEND_BURST)
    accepted = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] != 0]
    # The burst, plus at most a token or two refilled (1/s) while the replies came back.
    assert SEND_BURST <= len(accepted) <= SEND_BURST + 2, results
    assert refused and all(code == 1002 for code, _ in refused), results
    assert _metric(server, "send_rate") - before == len(refused)
    # Another user is not affected.
    assert all(code == 0 for code, _ in await _send_many(server, people["bob"], people["alice"], 2))


def test_rest_send_msg_is_limited_per_sender(server: ServerProcess, people: dict[str, str]) -> None:
    admin = server.admin_token()
    codes = []
    for i in range(2 * SEND_BURST):
        env = server.post(
            "/msg/send_msg",
            {"sendID": people["carol"], "recvID": people["dave"], "senderPlatformID": 5, "content": {"content": f"{i}"},
             "contentType": 101, "sessionType": 1},
            token=admin,
        ).json()
        codes.append((env["errCode"], env.get("errDlt", "")))
    assert [c for c, _ in codes[:SEND_BURST]] == [0] * SEND_BURST, codes
    assert any(c == 1002 and d.startswith("rate limited") for c, d in codes[SEND_BURST:]), codes


# -- item 12: logins --------------------------------------------------------------------------------------


@pytest.mark.trio
async def test_logins_of_one_user_past_the_burst_are_refused_over_rest_and_the_gateway(
    server: ServerProcess, people: dict[str, str]
) -> None:
    dave = people["dave"]
    admin = server.admin_token()
    tokens = [server.user_token(dave) for _ in range(LOGIN_BURST - 1)]
    # The last one of the burst is spent by a WebSocket login, the next is refused there with 1601 ...
    async with trio_websocket.open_websocket_url(_ws_url(server, dave, tokens[-1])) as ws:
        assert json.loads(await ws.get_message())["errCode"] == 0
    async with trio_websocket.open_websocket_url(_ws_url(server, dave, tokens[-1])) as ws:
        refusal = json.loads(await ws.get_message())
    assert refusal["errCode"] == 1601 and "rate limited" in refusal["errDlt"], refusal
    # ... and over REST with 1002.
    env = server.post("/auth/get_user_token", {"userID": dave, "platformID": 5}, token=admin).json()
    assert env["errCode"] == 1002 and env["errDlt"].startswith("rate limited"), env
    # Other users still log in.
    assert server.user_token(people["carol"])
    assert _metric(server, "login_user") >= 2


# -- item 6: admin secret ---------------------------------------------------------------------------------


def _admin_token_from(server: ServerProcess, source: str, secret: str) -> dict[str, Any]:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10) as client:
        resp = client.post(
            server.api_url + "/auth/get_admin_token",
            json={"secret": secret, "userID": "imAdmin"},
            headers={"operationID": f"guess{time.time_ns()}"},
        )
    result: dict[str, Any] = resp.json()
    return result


def test_parallel_wrong_secrets_are_throttled_per_address(server: ServerProcess) -> None:
    attacker = "127.0.0.3"
    before = _metric(server, "admin_secret")
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda i: _admin_token_from(server, attacker, f"guess-{i}"), range(24)))
    codes = sorted(a["errDlt"].split(":")[0] for a in answers)
    assert all(a["errCode"] == 1002 for a in answers), answers
    # Judged one at a time however parallel: exactly the free attempts were compared, the rest refused.
    assert codes.count("secret invalid") == SECRET_ATTEMPTS, codes
    assert codes.count("rate limited") == 24 - SECRET_ATTEMPTS, codes
    assert _metric(server, "admin_secret") - before == 24 - SECRET_ATTEMPTS
    # The blocked address is refused even with the right secret; the console sign-in is the same door.
    blocked = _admin_token_from(server, attacker, server.secret)
    assert blocked["errCode"] == 1002 and blocked["errDlt"].startswith("rate limited"), blocked
    with httpx.Client(transport=httpx.HTTPTransport(local_address=attacker), timeout=10) as client:
        console = client.post(server.api_url + "/admin/api/login", json={"secret": server.secret}).json()
    assert console["errCode"] == 1002 and console["errDlt"].startswith("rate limited"), console
    # Another address with the right secret is served.
    ok = _admin_token_from(server, "127.0.0.4", server.secret)
    assert ok["errCode"] == 0 and ok["data"]["token"], ok


def test_the_console_shows_the_refusals(server: ServerProcess) -> None:
    token = server.admin_token()
    env = httpx.get(server.api_url + "/admin/api/dashboard", headers={"token": token}, timeout=5).json()
    limits = env["data"]["figures"]["limits"]
    assert limits["admin_secret"] >= 1 and limits["send_rate"] >= 1, limits
