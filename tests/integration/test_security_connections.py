"""Connection-level limits of a real server process (docs/operations.md, "Security"): slow heads and
bodies are cut, one address cannot hold more than its share of connections on either listener, a part
upload for an unknown session is answered before its body is read, and clients leaving mid-body are
not errors in the log.

Floods come from other loopback addresses (127.0.0.2, 127.0.0.3) so that the test's own client on
127.0.0.1 plays the normal user who must keep working meanwhile.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio
import trio_websocket

from openim.wire.constants import ReqIdentifier
from openim.wire.envelope import decode_response, encode_request
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from conftest import ServerProcess

PER_IP = 12
HEADER_TIMEOUT_S = 3.0
BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server_env_extra() -> dict[str, str]:
    return {
        "OPENIM_API__MAX_CONNECTIONS_PER_IP": str(PER_IP),
        "OPENIM_API__HEADER_TIMEOUT": str(HEADER_TIMEOUT_S),
        "OPENIM_API__BODY_TIMEOUT": str(BODY_TIMEOUT_S),
        "OPENIM_GATEWAY__MAX_CONNECTIONS_PER_IP": str(PER_IP),
        "OPENIM_GATEWAY__MAX_HANDSHAKES_PER_IP": "0",
    }


def _addr(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _connect(url: str, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(_addr(url))
    return sock


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes; fails if it has not closed within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except TimeoutError:
            pytest.fail(f"the server kept the connection open for {timeout}s; got so far {data!r}")
        if not chunk:
            return data
        data += chunk
        sock.settimeout(max(0.01, deadline - time.monotonic()))


def _envelope(raw: bytes) -> dict[str, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), raw
    result: dict[str, Any] = json.loads(body)
    return result


@contextmanager
def _flood(url: str, source: str, count: int) -> Iterator[list[socket.socket]]:
    socks = [_connect(url, source) for _ in range(count)]
    try:
        yield socks
    finally:
        for s in socks:
            s.close()


def _head(method: str, path: str, length: int, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", f"Content-Length: {length}", "operationID: sec-test"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def send_one(server: ServerProcess, user_id: str, to: str) -> int:
    """Log ``user_id`` in over the gateway (from 127.0.0.1), send one message; the reply's errCode."""
    token = server.user_token(user_id)
    url = (
        f"{server.ws_url}?sendID={user_id}&token={token}&platformID=5&operationID=o1"
        "&isBackground=false&isMsgResp=true&sdkType=js"
    )
    async with trio_websocket.open_websocket_url(url) as ws:
        with trio.fail_after(10):
            assert json.loads(await ws.get_message())["errCode"] == 0
            msg = sdkws_pb2.MsgData(
                sendID=user_id, recvID=to, clientMsgID=f"c{time.time_ns()}", senderPlatformID=5, sessionType=1,
                msgFrom=100, contentType=101, content=b'{"content":"still works"}',
                createTime=int(time.time() * 1000), status=1,
            )
            await ws.send_message(encode_request(ReqIdentifier.SEND_MSG, "m1", user_id, "o2", msg.SerializeToString()))
            while True:
                frame = await ws.get_message()
                if isinstance(frame, bytes):
                    reply = decode_response(frame)
                    if reply.msg_incr == "m1":
                        return reply.err_code


# -- item 4: heads and bodies that never complete -------------------------------------------------------


def test_a_body_that_never_completes_is_answered_and_cut_after_the_body_timeout(server: ServerProcess) -> None:
    with _connect(server.api_url) as sock:
        sock.sendall(_head("POST", "/auth/get_admin_token", 1000) + b'{"secret":')
        started = time.monotonic()
        raw = _read_until_closed(sock, BODY_TIMEOUT_S + 4)
        elapsed = time.monotonic() - started
    env = _envelope(raw)
    assert env["errCode"] == 1001 and "request body not received" in env["errDlt"], env
    assert BODY_TIMEOUT_S - 0.2 <= elapsed < BODY_TIMEOUT_S + 3


def test_a_body_sent_one_byte_at_a_time_is_still_cut(server: ServerProcess) -> None:
    with _connect(server.api_url) as sock:
        sock.sendall(_head("POST", "/auth/get_admin_token", 1000))
        started = time.monotonic()
        sock.settimeout(0.25)
        raw = b""
        while time.monotonic() - started < BODY_TIMEOUT_S + 4:
            try:
                sock.sendall(b" ")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            raw += chunk
        else:
            pytest.fail("a dripping body kept the connection open")
    assert b"request body not received" in raw


def test_a_head_that_never_completes_is_cut_after_the_header_timeout(server: ServerProcess) -> None:
    with _connect(server.api_url) as sock:
        sock.sendall(b"POST /auth/get_admin_token HTTP/1.1\r\nHost: test\r\n")
        started = time.monotonic()
        _read_until_closed(sock, HEADER_TIMEOUT_S + 4)
        assert time.monotonic() - started >= HEADER_TIMEOUT_S - 0.3


def test_rest_refuses_the_connection_past_the_per_address_limit_and_serves_others(server: ServerProcess) -> None:
    with _flood(server.api_url, "127.0.0.2", PER_IP):
        time.sleep(0.2)  # all accepted
        with _connect(server.api_url, "127.0.0.2") as extra:
            raw = _read_until_closed(extra, 2.0)
        env = _envelope(raw)
        assert env["errCode"] == 1601, env
        # A normal user on another address is served meanwhile.
        assert server.admin_token()
    # Slots are given back when the flood leaves.
    time.sleep(0.2)
    with _flood(server.api_url, "127.0.0.2", 1) as again:
        again[0].sendall(_head("POST", "/auth/get_admin_token", 2) + b"{}")
        again[0].settimeout(3)
        assert b'"errCode":' in again[0].recv(65536)


@pytest.mark.trio
async def test_gateway_refuses_the_connection_past_the_per_address_limit_and_serves_others(
    server: ServerProcess,
) -> None:
    alice, bob = f"secA{time.time_ns()}", f"secB{time.time_ns()}"
    server.call(
        "/user/user_register", {"users": [{"userID": u, "nickname": u} for u in (alice, bob)]},
        token=server.admin_token(),
    )
    with _flood(server.ws_url, "127.0.0.2", PER_IP):  # idle sockets: handshakes that never come
        await trio.sleep(0.2)
        with _connect(server.ws_url, "127.0.0.2") as extra:
            raw = _read_until_closed(extra, 2.0)
        env = _envelope(raw)
        assert env["errCode"] == 1601, env
        assert await send_one(server, alice, bob) == 0
    metrics = httpx.get(server.api_url + "/metrics", timeout=5).text
    assert _sample(metrics, 'openim_limit_refusals_total{limit="connections_per_ip"}') >= 1


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


# -- item 5: part uploads are judged before their body --------------------------------------------------


def test_a_part_for_an_unknown_upload_is_refused_before_its_body_is_sent(server: ServerProcess) -> None:
    with _connect(server.api_url) as sock:
        # 100 MiB announced, not a byte sent: the answer must not wait for the body (nor its timeout).
        sock.sendall(_head("PUT", "/object/.upload/no-such-upload?partNumber=1", 100 * 1024 * 1024))
        started = time.monotonic()
        sock.settimeout(BODY_TIMEOUT_S - 0.2)
        try:
            raw = sock.recv(65536)
        except TimeoutError:
            pytest.fail("the server waited for the body of a part it was going to refuse")
        assert raw.startswith(b"HTTP/1.1 404"), raw
        assert time.monotonic() - started < BODY_TIMEOUT_S - 0.2


# -- item 11: a client leaving mid-body is not an error --------------------------------------------------


def test_clients_leaving_mid_body_leave_no_error_and_no_traceback_in_the_log(server: ServerProcess) -> None:
    token = server.admin_token()
    before = len(server.log_path.read_bytes())
    for _ in range(20):
        with _connect(server.api_url) as sock:
            sock.sendall(_head("POST", "/user/get_users_info", 1000, token=token) + b'{"userIDs":')
            time.sleep(0.02)
    time.sleep(0.5)
    assert server.admin_token()  # still serving
    written = server.log_path.read_bytes()[before:].decode(errors="replace")
    errors = [line for line in written.splitlines() if '"level": "error"' in line or "Traceback" in line]
    assert not errors, "\n".join(errors[:3])
