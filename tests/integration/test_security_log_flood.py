"""A repeated error is written once per window, not once per occurrence (docs/operations.md, "Security").

The server runs with few file descriptors; a flood of connections makes every accept fail with EMFILE,
which the accept loop reports (with a traceback) and retries every 0.1 s. The log must carry one such
line per ``log.repeat_window``, and the server must serve again once the flood is gone.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from conftest import ServerProcess

FLOOD_S = 3.0


@pytest.fixture(scope="module")
def server_nofile() -> int:
    return 160


@pytest.fixture(scope="module")
def server_env_extra() -> dict[str, str]:
    # Sockets accepted during the flood linger in CLOSE-WAIT after their client left (Hypercorn does not
    # see the EOF while the process is out of descriptors) until the header timeout closes them.
    return {"OPENIM_LOG__REPEAT_WINDOW": "60s", "OPENIM_API__HEADER_TIMEOUT": "2s"}


def test_emfile_on_accept_is_logged_once_per_window(server: ServerProcess) -> None:
    parts = urlsplit(server.api_url)
    assert parts.hostname is not None and parts.port is not None
    before = len(server.log_path.read_bytes())
    flood: list[socket.socket] = []
    try:
        for _ in range(400):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.5", 0))
            sock.settimeout(2)
            try:
                sock.connect((parts.hostname, parts.port))
            except OSError:
                sock.close()
                break
            flood.append(sock)
        time.sleep(FLOOD_S)
        written = server.log_path.read_bytes()[before:].decode(errors="replace")
    finally:
        for sock in flood:
            sock.close()
    accept_errors = [line for line in written.splitlines() if "accept returned" in line]
    # The flood really hit the limit (otherwise this test proves nothing) ...
    assert accept_errors, f"no EMFILE with {len(flood)} connections:\n{server.log_tail(20)}"
    # ... and ~30 retries in 3 s left one line, not one each.
    assert len(accept_errors) == 1, f"{len(accept_errors)} lines:\n" + "\n".join(accept_errors[:5])
    deadline = time.monotonic() + 20
    problems = []
    while time.monotonic() < deadline:  # serving again once the descriptors are back
        try:
            env = httpx.post(
                server.api_url + "/auth/get_admin_token", json={"secret": server.secret, "userID": "imAdmin"},
                headers={"operationID": "after-flood"}, timeout=3,
            ).json()
            assert env["errCode"] == 0, env
            return
        except Exception as exc:
            problems.append(repr(exc))
            time.sleep(0.2)
    pytest.fail(f"the server did not serve again after the flood: {problems[-3:]}\n{server.log_tail(5)}")
