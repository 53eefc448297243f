"""Outages of the servers the cluster stands on, under load: a PostgreSQL restart, a Redis restart and a
Redis FLUSHALL. Both servers are this module's own (free loopback ports, temp dirs), never the shared
ones. Two processes run every module (gateway, api, msg, transfer, push).

What it proves:

- PostgreSQL down: sends are answered with 90002 DatabaseError (not a hang, not a 500), and succeed
  once it is back, without any process being restarted; nothing acked is lost or duplicated;
- Redis restarted (empty) or flushed: seqs continue from the SQL state (they never roll back), every
  acked message is stored once with gapless seqs, and the cluster recovers on its own: both nodes back
  in the registry, every partition owned again, pushes delivered again (presence refreshed).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from openim_cluster_harness import (
    Cluster,
    PostgresServer,
    RedisServer,
    WsClient,
    check_history,
    fresh_database,
    run_load,
)

from openim.wire.constants import single_conversation_id

LOAD_S = 5.0
DATABASE_ERROR = 90002


@pytest.fixture(scope="module")
def cluster(
    private_servers: tuple[PostgresServer, RedisServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    pg, redis = private_servers
    base: Path = tmp_path_factory.mktemp("outage-cluster")
    with fresh_database(pg.admin_dsn) as dsn:
        cluster = Cluster(base, dsn=dsn, redis_url=redis.url)
        cluster.add("p", "all")
        cluster.add("q", "all")
        try:
            cluster.start("p", "q")
            yield cluster
        finally:
            cluster.close()


def _users(cluster: Cluster, n: int, tag: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    suffix = secrets.token_hex(3)
    ids = [f"{tag}{i}x{suffix}" for i in range(n)]
    tokens = _retry(lambda: cluster.register(ids))
    return [(ids[i], ids[i + 1]) for i in range(0, n, 2)], tokens


def _retry(fn, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (AssertionError, OSError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _gateways(cluster: Cluster, pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    p, q = cluster.nodes["p"].ws_url, cluster.nodes["q"].ws_url
    return {u: ([p, q] if i % 2 == 0 else [q, p]) for i, u in enumerate(u for pair in pairs for u in pair)}


def _healthy_again(cluster: Cluster, timeout: float = 30.0) -> None:
    """Both nodes registered and every partition owned, without anyone restarting a process."""
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        code, status = cluster.status()
        if code == 0 and {n["node_id"] for n in status["nodes"]} == {"p", "q"}:  # type: ignore[attr-defined]
            return
        time.sleep(0.5)
    pytest.fail(f"the cluster did not recover on its own: {status.get('problems')}\n{cluster.logs()}")


def _chat_still_works(cluster: Cluster, tag: str) -> None:
    """A fresh pair on different gateways: the 1003 is acked and the recipient gets the push."""
    ((x, y),), tokens = _users(cluster, 2, tag)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            cx = await WsClient.open(nursery, cluster.nodes["p"].ws_url, x, tokens[x])
            cy = await WsClient.open(nursery, cluster.nodes["q"].ws_url, y, tokens[y])
            assert await cx.send_text(y, f"{tag}-after", "after the outage") == 0
            got = await cy.wait_push(lambda m: m.clientMsgID == f"{tag}-after")
            assert got.seq == 1
            await cx.aclose()
            await cy.aclose()
            nursery.cancel_scope.cancel()

    trio.run(run)


def _max_seq(cluster: Cluster, pair: tuple[str, str], tokens: dict[str, str]) -> int:
    history = cluster.history(pair[0], tokens[pair[0]], single_conversation_id(*pair))
    return int(history[-1]["seq"]) if history else 0


def _one_more(cluster: Cluster, pair: tuple[str, str], tokens: dict[str, str], cmid: str) -> None:
    async def run() -> None:
        async with trio.open_nursery() as nursery:
            c = await WsClient.open(nursery, cluster.nodes["q"].ws_url, pair[0], tokens[pair[0]])
            assert await c.send_text(pair[1], cmid, "seq check") == 0
            await c.aclose()
            nursery.cancel_scope.cancel()

    trio.run(run)


def test_postgres_restart_under_load(cluster: Cluster, private_servers: tuple[PostgresServer, RedisServer]) -> None:
    pg, _ = private_servers
    pairs, tokens = _users(cluster, 8, "pg")
    probe, pairs = pairs[-1], pairs[:-1]  # the probe's users take no part in the load
    seen_while_down: list[int] = []

    def restart_postgres() -> None:
        time.sleep(1.0)
        try:
            # While it is down, a send is refused at once with a clear code, not left hanging. (The probe
            # logs in first: a login needs the token status, which may have to come from the database.)
            seen_while_down.append(trio.run(_probe_send, cluster, probe, tokens, pg.stop))
            time.sleep(1.5)
        finally:
            pg.start()

    result = trio.run(lambda: run_load(pairs, tokens, _gateways(cluster, pairs), duration_s=LOAD_S,
                                       during=restart_postgres))  # fmt: skip
    print("postgres restart:", result.summary(), "probe:", seen_while_down)
    assert seen_while_down == [DATABASE_ERROR]
    assert result.error_codes[DATABASE_ERROR] > 0, result.summary()
    checked = check_history(cluster, pairs, tokens, result)
    assert checked == len(result.acked) and checked > 20, result.summary()
    _chat_still_works(cluster, "pgafter")


async def _probe_send(cluster: Cluster, pair: tuple[str, str], tokens: dict[str, str], outage: Any) -> int:
    async with trio.open_nursery() as nursery:
        c = await WsClient.open(nursery, cluster.nodes["p"].ws_url, pair[0], tokens[pair[0]])
        await trio.to_thread.run_sync(outage)
        started = time.monotonic()
        code = await c.send_text(pair[1], f"probe-{secrets.token_hex(4)}", "while the database is down")
        assert time.monotonic() - started < 5.0, "the refusal took too long"
        await c.aclose()
        nursery.cancel_scope.cancel()
    return code


@pytest.mark.parametrize("outage", ["restart", "flushall"])
def test_redis_outage_under_load(
    cluster: Cluster, private_servers: tuple[PostgresServer, RedisServer], outage: str
) -> None:
    _, redis = private_servers
    pairs, tokens = _users(cluster, 6, f"rd{outage[:2]}")

    def hit_redis() -> None:
        time.sleep(1.5)
        if outage == "restart":
            redis.restart(down_s=0.5)
        else:
            assert redis.command("FLUSHALL") == "OK"

    result = trio.run(lambda: run_load(pairs, tokens, _gateways(cluster, pairs), duration_s=LOAD_S,
                                       during=hit_redis))  # fmt: skip
    print(f"redis {outage}:", result.summary())
    checked = check_history(cluster, pairs, tokens, result)
    assert checked == len(result.acked) and checked > 20, result.summary()

    # Seqs continue from SQL: the next message of each conversation gets max + 1, never a reused seq.
    before = _max_seq(cluster, pairs[0], tokens)
    _one_more(cluster, pairs[0], tokens, f"after-{outage}")
    assert _max_seq(cluster, pairs[0], tokens) == before + 1
    _healthy_again(cluster)
    _chat_still_works(cluster, f"rd{outage[:2]}after")
