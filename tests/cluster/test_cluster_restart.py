"""A restarted server with the default node id (no ``node_id`` in the config, no OPENIM_NODE_ID) sends at
once: stopped by SIGTERM or killed by SIGKILL, then started again on the same config and data dir, its
first send is acknowledged well within the lease period.

With a node id new at every start, the partition leases of the previous incarnation (PostgreSQL + Redis)
were held by a name nobody answers to any more; the first send after a restart waited until they expired
(lease_ttl, 10 s by default, plus a retry period). The default node id is now the same from one start to
the next on one data dir (openim.node), so a restarted process owns its leases again at once.

Both modes are run with the production timings (no FAST_CLUSTER here: the point is the default
lease_ttl): the embedded one (SQLite + in-process bus, where leases live in the process and die with it)
and a cluster-mode process on the shared PostgreSQL + Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openim_cluster_harness import (
    ROOT,
    SHARED_POSTGRES_ADMIN_DSN,
    SHARED_REDIS_URL,
    drop_redis_prefix,
    free_port,
    fresh_database,
)

pytestmark = pytest.mark.timeout(240)

FIRST_SEND_LIMIT_S = 3.0  # the default lease_ttl is 10 s: a stall on a lease shows as 10 s or more
READY_LIMIT_S = 40.0


class Server:
    """One ``python -m openim serve`` on a config without node_id; stopped by its own pid only."""

    def __init__(self, base: Path, storage: str) -> None:
        self.base = base
        self.secret = f"restart-secret-{secrets.token_hex(12)}"
        self.api_port = free_port()
        self.key_prefix = f"openim-restart-{secrets.token_hex(5)}:"
        self.config = base / "config.yaml"
        self.config.write_text(
            f'secret: "{self.secret}"\n'
            f'data_dir: "{base / "data"}"\n'
            "shutdown_timeout: 5s\n"
            f"api: {{host: 127.0.0.1, port: {self.api_port}}}\n"
            f"gateway: {{host: 127.0.0.1, port: {free_port()}}}\n"
            f"ops: {{host: 127.0.0.1, port: {free_port()}}}\n"
            + storage.replace("PREFIX", self.key_prefix)
            + "log: {format: json}\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.starts += 1
        with (self.base / f"server-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "openim", "serve", "-c", str(self.config)],
                cwd=self.base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_LIMIT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited:\n{self.log()}"
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"not ready after {READY_LIMIT_S:g}s:\n{self.log()}")

    def stop(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def log(self) -> str:
        return (self.base / f"server-{self.starts}.log").read_text(errors="replace")[-6000:]

    def node_id(self) -> str:
        for line in self.log().splitlines():
            if '"event": "starting"' in line:
                return str(json.loads(line)["node_id"])
        raise AssertionError(f"no starting line:\n{self.log()}")

    def call(self, path: str, body: Any, token: str = "", timeout: float = 30) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"operationID": f"t-restart-{time.time_ns()}", "token": token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.load(resp)
        assert answer["errCode"] == 0, (path, answer)
        return answer.get("data")

    def admin(self) -> str:
        return str(self.call("/auth/get_admin_token", {"secret": self.secret, "userID": "imAdmin"})["token"])

    def send(self, token: str, n: int) -> float:
        """Send one message over REST; the seconds until it was acknowledged."""
        start = time.monotonic()
        self.call(
            "/msg/send_msg",
            {"sendID": "ann", "recvID": "ben", "senderPlatformID": 5, "content": {"content": f"message {n}"},
             "contentType": 101, "sessionType": 1},
            token,
        )  # fmt: skip
        return time.monotonic() - start


EMBEDDED = ""
CLUSTER = (
    'storage: {{backend: postgres, postgres_dsn: "{dsn}", pool_size: 4}}\n'
    'bus: {{backend: redis, redis_url: "{redis}", key_prefix: "PREFIX"}}\n'
)


@pytest.fixture(params=["embedded", "cluster"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        if request.param == "embedded":
            storage = EMBEDDED
        else:
            try:
                dsn = stack.enter_context(fresh_database(SHARED_POSTGRES_ADMIN_DSN))
            except OSError as exc:
                pytest.skip(f"the shared PostgreSQL is not reachable: {exc}")
            storage = CLUSTER.format(dsn=dsn, redis=SHARED_REDIS_URL)
        srv = Server(tmp_path, storage)
        stack.callback(drop_redis_prefix, SHARED_REDIS_URL, srv.key_prefix)
        stack.callback(srv.close)
        yield srv


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_first_send_after_a_restart_is_not_held_by_the_old_leases(server: Server, signum: int) -> None:
    server.start()
    token = server.admin()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("ann", "ben")]}, token)
    server.send(token, 0)
    first_id = server.node_id()
    server.stop(signum)

    server.start()
    took = server.send(server.admin(), 1)
    assert took < FIRST_SEND_LIMIT_S, (
        f"first send after a {signal.Signals(signum).name} restart took {took:.1f}s "
        f"(node id {first_id} -> {server.node_id()}):\n{server.log()}"
    )
    assert server.node_id() == first_id, "the default node id changed across the restart"
    # and it keeps sending
    assert server.send(server.admin(), 2) < FIRST_SEND_LIMIT_S
