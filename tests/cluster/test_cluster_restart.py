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
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openim_cluster_harness import (
    SHARED_POSTGRES_ADMIN_DSN,
    SHARED_REDIS_URL,
    RestartableServer,
    drop_redis_prefix,
    fresh_database,
)

pytestmark = pytest.mark.timeout(240)

FIRST_SEND_LIMIT_S = 3.0  # the default lease_ttl is 10 s: a stall on a lease shows as 10 s or more


class Server(RestartableServer):
    """The server under test: a config without node_id (the default one is what is tested)."""

    def __init__(self, base: Path, storage: str) -> None:
        self.key_prefix = f"openim-restart-{secrets.token_hex(5)}:"
        super().__init__(base, "shutdown_timeout: 5s\n" + storage.replace("PREFIX", self.key_prefix))

    def node_id(self) -> str:
        for line in self.log().splitlines():
            if '"event": "starting"' in line:
                return str(json.loads(line)["node_id"])
        raise AssertionError(f"no starting line:\n{self.log()}")

    def send(self, token: str, n: int) -> float:
        """Send one message over REST; the seconds until it was acknowledged."""
        start = time.monotonic()
        self.call(
            "/msg/send_msg",
            {"sendID": "ann", "recvID": "ben", "senderPlatformID": 5, "content": {"content": f"message {n}"},
             "contentType": 101, "sessionType": 1},
            token=token,
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
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("ann", "ben")]}, token=token)
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
