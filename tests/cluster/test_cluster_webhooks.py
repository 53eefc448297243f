"""After-callbacks in a cluster (PostgreSQL + Redis): the callbacks a process queued and had taken when it
was killed (SIGKILL, its pid only) -- pending in the stream under its name while it waited for a slow
receiver -- are delivered by another process of the cluster, once their lease has run out; nothing is
lost, each arrives with its original body and operationID.

The lease is ``timeout × 17 + 30 s``: 64 s here, so this test takes more than a minute.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from openim_cluster_harness import SHARED_POSTGRES_ADMIN_DSN, SHARED_REDIS_URL, drop_redis_prefix, fresh_database

from openim.bus.resp import RedisAddress, RespConnection
from tests.integration.test_webhooks_crash import CLUSTER, Server, metric, wait_for
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

pytestmark = pytest.mark.timeout(300)

COMMAND = "callbackAfterAddFriendCommand"
CALLBACKS = 8
TAKEOVER_LIMIT_S = 120.0
PREFIX = f"openim-hookpair-{secrets.token_hex(5)}:"


def pending_of(consumer: str) -> int:
    """How many hook queue entries Redis holds as taken by ``consumer`` (XPENDING)."""

    async def ask() -> int:
        conn = await RespConnection.connect(RedisAddress.from_url(SHARED_REDIS_URL))
        try:
            reply = await conn.execute("XPENDING", f"{PREFIX}hooks", "openim-hooks", "-", "+", 100, consumer)
            return len(reply or [])
        finally:
            conn.close()

    return trio.run(ask)


def node_id(server: Server) -> str:
    for line in server.log().splitlines():
        if '"event": "starting"' in line:
            return str(json.loads(line)["node_id"])
    raise AssertionError(f"no starting line:\n{server.log()}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture
def pair(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Server, Server]]:
    """Two processes of every module on one database and one Redis key prefix."""
    try:
        db = fresh_database(SHARED_POSTGRES_ADMIN_DSN)
        dsn = db.__enter__()
    except OSError as exc:
        pytest.skip(f"the shared PostgreSQL is not reachable: {exc}")
    prefix = PREFIX
    storage = CLUSTER.format(dsn=dsn, redis=SHARED_REDIS_URL, prefix=prefix)
    secret = f"pair-secret-{secrets.token_hex(12)}"
    first = Server(tmp_path / "a", storage, receiver.url, secret)
    second = Server(tmp_path / "b", storage, receiver.url, secret)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
        drop_redis_prefix(SHARED_REDIS_URL, prefix)
        db.__exit__(None, None, None)


def test_callbacks_of_a_killed_process_are_delivered_by_another(
    pair: tuple[Server, Server], receiver: Receiver
) -> None:
    victim, survivor = pair
    answered_ok: dict[str, dict[str, Any]] = {}
    receiver_up = False

    def rule(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        if not receiver_up:
            return 503, b"down", 1.5  # slow: an attempt keeps its entry taken for 1.5 s
        answered_ok[body["operationID"]] = body
        return 200, CONTINUE, 0.0

    receiver.rules[COMMAND] = rule
    victim.start()
    survivor.start()
    token = victim.admin()
    users = [f"pair{i}_{secrets.token_hex(3)}" for i in range(CALLBACKS)]
    everyone = [{"userID": u, "nickname": u} for u in ["target", *users]]
    victim.call("/user/user_register", {"users": everyone}, token=token)
    for i, user in enumerate(users):
        victim.call(
            "/friend/add_friend", {"fromUserID": user, "toUserID": "target", "reqMsg": f"hi {i}"},
            token=token, operation_id=f"pair-op-{i}",
        )  # fmt: skip
    ops = {f"pair-op-{i}" for i in range(CALLBACKS)}
    wait_for("a first attempt of every callback", lambda: {c.body["operationID"] for c in receiver.of(COMMAND)} >= ops)
    first_bodies = {c.body["operationID"]: c.body for c in receiver.of(COMMAND)}
    victim_id = node_id(victim)
    wait_for("the victim in the middle of attempts", lambda: pending_of(victim_id) > 0)
    victim.kill9()
    orphaned = pending_of(victim_id)
    assert orphaned > 0

    receiver_up = True
    started = time.monotonic()
    wait_for("every callback delivered by the survivor", lambda: set(answered_ok) >= ops, timeout=TAKEOVER_LIMIT_S)
    assert all(answered_ok[op] == first_bodies[op] for op in ops), "a body changed on the way"
    wait_for("an empty queue", lambda: metric(survivor, "openim_webhooks_queued") == 0, timeout=15)
    assert metric(survivor, "openim_webhooks_dead_letters") == 0
    assert pending_of(victim_id) == 0, "the dead process's entries were not claimed"
    print(f"all {CALLBACKS} delivered {time.monotonic() - started:.1f} s after the kill ({orphaned} orphaned)")
