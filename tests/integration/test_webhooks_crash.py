"""After-callbacks survive a crash: a real server fires them while the receiver answers 503, is killed
with SIGKILL (its own pid only), and, started again on the same config and data with the receiver back,
delivers every one of them, with its original body and operationID. The same after a graceful stop
(SIGTERM), which must not wait for the queue and must exit 0.

Run in the embedded mode (SQLite, in-process bus: the queue is the store's table) and in the cluster mode
(PostgreSQL + Redis: the queue is a Redis stream; the restarted process has the same node id, so it reads
its own pending entries again at once instead of waiting for their lease to run out).
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.openim_cluster_harness import (
    SHARED_POSTGRES_ADMIN_DSN,
    SHARED_REDIS_URL,
    RestartableServer,
    drop_redis_prefix,
    fresh_database,
)
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

CALLBACKS = 12
COMMAND = "callbackAfterAddFriendCommand"

CLUSTER = (
    'storage: {{backend: postgres, postgres_dsn: "{dsn}", pool_size: 4}}\n'
    'bus: {{backend: redis, redis_url: "{redis}", key_prefix: "{prefix}"}}\n'
)


class Server(RestartableServer):
    """The server under test, with after-callbacks on (afterAddFriend) and a patient retry policy."""

    def __init__(self, base: Path, storage: str, receiver_url: str, secret: str = "") -> None:
        hooks = (
            f"webhooks: {{url: '{receiver_url}', enable: [afterAddFriend], timeout: 2s, after_attempts: 100, "
            "after_backoff: 100ms, after_backoff_max: 300ms}\n"
        )
        super().__init__(base, hooks + storage, name="crash", secret=secret)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture(params=["embedded", pytest.param("cluster", marks=pytest.mark.cluster)])
def server(request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver) -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        storage = ""
        if request.param == "cluster":
            try:
                dsn = stack.enter_context(fresh_database(SHARED_POSTGRES_ADMIN_DSN))
            except OSError as exc:
                pytest.skip(f"the shared PostgreSQL is not reachable: {exc}")
            prefix = f"openim-hookcrash-{secrets.token_hex(5)}:"
            stack.callback(drop_redis_prefix, SHARED_REDIS_URL, prefix)
            storage = CLUSTER.format(dsn=dsn, redis=SHARED_REDIS_URL, prefix=prefix)
        srv = Server(tmp_path, storage, receiver.url)
        stack.callback(srv.close)
        yield srv


def wait_for(what: str, predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_after_callbacks_queued_before_a_stop_are_delivered_after_the_restart(
    server: Server, receiver: Receiver, signum: int
) -> None:
    answered_ok: dict[str, dict[str, Any]] = {}  # operationID -> body, of the calls answered 200
    receiver_up = False

    def rule(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        if not receiver_up:
            return 503, b"down for maintenance", 0.0
        answered_ok[body["operationID"]] = body
        return 200, CONTINUE, 0.0

    receiver.rules[COMMAND] = rule
    server.start()
    token = server.admin()
    friends = [f"crash{i}_{secrets.token_hex(3)}" for i in range(CALLBACKS)]
    server.call(
        "/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ["target", *friends]]}, token=token
    )
    for i, user in enumerate(friends):
        server.call(
            "/friend/add_friend",
            {"fromUserID": user, "toUserID": "target", "reqMsg": f"hello {i}"},
            token=token,
            operation_id=f"crash-op-{i}",
        )
    ops = {f"crash-op-{i}" for i in range(CALLBACKS)}
    # Each was tried (so it was written to the queue) and refused at least once.
    wait_for("a first attempt of every callback", lambda: {c.body["operationID"] for c in receiver.of(COMMAND)} >= ops)
    refused = {c.body["operationID"]: c for c in receiver.of(COMMAND)}
    stopping = time.monotonic()
    code = server.stop(signum)
    if signum == signal.SIGTERM:
        assert code == 0 and '"module.crashed"' not in server.log(), server.log()
        assert time.monotonic() - stopping < 8, "the stop waited for the queue"
    assert answered_ok == {}

    receiver_up = True
    server.start()
    wait_for("every callback delivered after the restart", lambda: set(answered_ok) >= ops)
    for i, user in enumerate(friends):
        body = answered_ok[f"crash-op-{i}"]
        assert body == refused[f"crash-op-{i}"].body, "the body changed across the restart"
        assert (body["callbackCommand"], body["fromUserID"], body["toUserID"], body["reqMsg"]) == (
            COMMAND, user, "target", f"hello {i}"
        )
    assert all(c.headers["operationID"] == c.body["operationID"] for c in receiver.of(COMMAND))
    # The queue is empty afterwards, nothing is dead: /metrics says so.
    wait_for("an empty queue in /metrics", lambda: metric(server, "openim_webhooks_queued") == 0)
    assert metric(server, "openim_webhooks_dead_letters") == 0
    assert metric(server, "openim_webhooks_delivered_total") >= CALLBACKS


def metric(server: Server, name: str) -> float:
    for line in httpx.get(server.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")
