"""Crash safety of a whole server: kill -9 of the one process that runs every module, under load, again
and again, on both backends (embedded SQLite + in-process bus; PostgreSQL + Redis).

Clients keep the SDK's promise (a message not acknowledged is sent again with the same clientMsgID,
after reconnecting to the restarted server), and at the end:

- every acknowledged message is stored exactly once, and nothing is stored that was never acknowledged;
- seqs are gapless, 1..N in every conversation;
- retries are deduplicated: sending an acknowledged message again is acknowledged with its original
  serverMsgID and stores nothing new.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from openim_cluster_harness import (
    Cluster,
    WsClient,
    check_history,
    run_load,
    text_msg,
)

from openim.wire.constants import single_conversation_id
from openim.wire.pb import msg_pb2

ROUNDS = 3
LOAD_S = 8.0
SOLO = "solo"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def solo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One process with every module, on the backend of the parameter (PostgreSQL + Redis: the shared
    servers, through ``shared_cluster``)."""
    if request.param == "sqlite":
        cluster = Cluster(tmp_path_factory.mktemp("crash-sqlite"), dsn="", redis_url="", embedded=True)
    else:
        cluster = request.getfixturevalue("shared_cluster")
    try:
        cluster.add(SOLO, "all")
        cluster.start(SOLO)
        yield cluster
    finally:
        if request.param == "sqlite":
            cluster.close()  # shared_cluster closes its own


def _resend(cluster: Cluster, user: str, peer: str, token: str, client_msg_id: str) -> Any:
    """Send an acknowledged message again (same clientMsgID); return the 1003 reply."""

    async def run() -> Any:
        async with trio.open_nursery() as nursery:
            client = await WsClient.open(nursery, cluster.nodes[SOLO].ws_url, user, token)
            try:
                return await client.request(1003, text_msg(user, peer, client_msg_id, "again"), 10.0)
            finally:
                await client.aclose()
                nursery.cancel_scope.cancel()

    return trio.run(run)


def test_kill9_of_the_whole_server_loses_and_duplicates_nothing(solo: Cluster) -> None:
    suffix = secrets.token_hex(3)
    ids = [f"crash{i}x{suffix}" for i in range(8)]
    tokens = solo.register(ids)
    pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids), 2)]
    gateways = {u: [solo.nodes[SOLO].ws_url] for u in ids}
    restarts: list[float] = []

    def kill_and_restart() -> None:
        for _ in range(ROUNDS):
            time.sleep(LOAD_S / (ROUNDS + 1))
            solo.kill9(SOLO)
            started = time.monotonic()
            solo.start(SOLO)
            restarts.append(time.monotonic() - started)

    result = trio.run(lambda: run_load(pairs, tokens, gateways, duration_s=LOAD_S, during=kill_and_restart))
    print(f"kill -9 x{ROUNDS}:", result.summary(), "restarts (s):", [round(r, 1) for r in restarts])
    assert len(restarts) == ROUNDS
    assert result.reconnects >= ROUNDS, result.summary()  # the kills did hit the senders
    assert result.attempts > len(result.acked), result.summary()  # some sends were retried
    checked = check_history(solo, pairs, tokens, result)
    assert checked == len(result.acked) and checked > 100, result.summary()

    # A retry of an acknowledged message gets its original serverMsgID and stores nothing new.
    a, b = pairs[0]
    conv = single_conversation_id(a, b)
    stored = solo.history(a, tokens[a], conv)
    first = next(m for m in stored if m["sendID"] == a)
    reply = _resend(solo, a, b, tokens[a], str(first["clientMsgID"]))
    assert reply.err_code == 0, reply
    assert msg_pb2.SendMsgResp.FromString(reply.data).serverMsgID == first["serverMsgID"]
    assert len(solo.history(a, tokens[a], conv)) == len(stored)
