"""A four-process cluster on the shared PostgreSQL (a database of its own) and the shared Redis (a key
prefix of its own): gateway+api on A and B, msg+transfer+push on C and D.

What it proves, with real processes killed with SIGKILL under load:

- ``openim cluster status`` lists every node with modules, addresses, heartbeat, connections and the
  partitions it owns; the transfer and push partitions are spread over C and D;
- clients on two gateways chat both ways; a push goes only to the node that holds its recipient;
- kill -9 of a gateway under load: its clients reconnect to the other gateway and resend what was not
  acked (same clientMsgID); every acked message is in history exactly once, seqs are 1..N; the dead
  node leaves the registry and the presence map by TTL;
- kill -9 of the owner of the transfer partitions under load: the other process takes them over
  (lease + redelivery) and the same holds;
- SIGTERM of a gateway (drain): sessions closed with 1001, the node leaves the registry at once and
  exits 0, its clients move to the other gateway.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import trio
import trio_websocket
from openim_cluster_harness import (
    Cluster,
    WsClient,
    check_history,
    run_load,
)

from openim.bus.redis import RedisBus
from openim.bus.resp import RedisAddress, RespConnection
from openim.internode.payloads import KIND_DELIVERIES, decode_deliveries
from openim.pipeline.partitioning import partition_of
from openim.wire.constants import single_conversation_id

PARTITIONS = 8
LOAD_S = 4.0


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    for name, modules in (("a", "gateway,api"), ("b", "gateway,api"), ("c", "msg,transfer,push"),
                          ("d", "msg,transfer,push")):  # fmt: skip
        shared_cluster.add(name, modules)
    shared_cluster.start("a", "b", "c", "d")
    yield shared_cluster


def _users(cluster: Cluster, n: int, tag: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    suffix = secrets.token_hex(3)
    ids = [f"{tag}{i}x{suffix}" for i in range(n)]
    tokens = cluster.register(ids)
    return [(ids[i], ids[i + 1]) for i in range(0, n, 2)], tokens


def _wait(what: str, predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def test_status_lists_every_node_and_spreads_the_partitions(cluster: Cluster) -> None:
    def balanced() -> bool:
        owners = cluster.status()[1]["owners"]
        return all(sorted(owners[q]).count("c") == PARTITIONS // 2 == sorted(owners[q]).count("d")
                   for q in ("transfer", "push"))  # fmt: skip

    _wait("the partitions to be spread over c and d", balanced, timeout=30)
    code, status = cluster.status()
    assert code == 0 and status["ok"], status["problems"]
    nodes = {n["node_id"]: n for n in status["nodes"]}
    assert set(nodes) == {"a", "b", "c", "d"}
    for name in ("a", "b"):
        node = cluster.nodes[name]
        assert nodes[name]["state"] == "up"
        assert set(nodes[name]["modules"]) == {"api", "gateway"}
        assert nodes[name]["addresses"] == {"api": f"127.0.0.1:{node.api_port}", "gateway": f"127.0.0.1:{node.ws_port}"}
    for name in ("c", "d"):
        assert set(nodes[name]["modules"]) == {"msg", "transfer", "push"}
        assert nodes[name]["addresses"] == {"ops": f"127.0.0.1:{cluster.nodes[name].ops_port}"}
        assert len(nodes[name]["partitions"]["transfer"]) == PARTITIONS // 2
    now_ms = time.time() * 1000
    assert all(now_ms - n["heartbeat_at"] < 3000 for n in nodes.values())

    # Connection counts come with the heartbeat (every node_ttl/3 = 1 s).
    (pair,), tokens = _users(cluster, 2, "st")

    async def hold() -> None:
        async with trio.open_nursery() as nursery:
            clients = [await WsClient.open(nursery, cluster.nodes["a"].ws_url, u, tokens[u]) for u in pair]
            await trio.to_thread.run_sync(
                lambda: _wait("2 connections on a", lambda: _node(cluster, "a")["connections"] == 2, 10)
            )
            for c in clients:
                await c.aclose()
            nursery.cancel_scope.cancel()

    trio.run(hold)
    table = subprocess.run(
        [sys.executable, "-m", "openim", "cluster", "status", "-c", str(cluster.config_path)],
        env=cluster.env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "status: ok" in table.stdout and "transfer partitions: 8/8 owned" in table.stdout, table.stdout


def _node(cluster: Cluster, name: str) -> dict[str, object]:
    return {n["node_id"]: n for n in cluster.status()[1]["nodes"]}.get(name, {})


def test_clients_on_two_gateways_chat_both_ways(cluster: Cluster) -> None:
    ((alice, bob),), tokens = _users(cluster, 2, "chat")

    async def chat() -> None:
        async with trio.open_nursery() as nursery:
            on_a = await WsClient.open(nursery, cluster.nodes["a"].ws_url, alice, tokens[alice])
            on_b = await WsClient.open(nursery, cluster.nodes["b"].ws_url, bob, tokens[bob])
            assert await on_a.send_text(bob, "a-to-b-1", "hello from a") == 0
            got = await on_b.wait_push(lambda m: m.clientMsgID == "a-to-b-1")
            assert got.sendID == alice and got.seq == 1
            assert await on_b.send_text(alice, "b-to-a-1", "hello from b") == 0
            got = await on_a.wait_push(lambda m: m.clientMsgID == "b-to-a-1")
            assert got.sendID == bob and got.seq == 2
            for c in (on_a, on_b):
                await c.aclose()
            nursery.cancel_scope.cancel()

    trio.run(chat)


def test_push_goes_only_to_the_node_holding_the_recipient(cluster: Cluster) -> None:
    ((x, y),), tokens = _users(cluster, 2, "tgt")
    counts = {"a": 0, "b": 0}

    async def watch(name: str, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        conn = await RespConnection.connect(RedisAddress.from_url(cluster.redis_url))
        try:
            await conn.send([("SUBSCRIBE", f"{cluster.key_prefix}node:{name}")])
            await conn.read_reply()
            task_status.started()
            while True:
                reply = await conn.read_reply()
                if isinstance(reply, list) and reply[0] == b"message" and reply[2][:1] == KIND_DELIVERIES:
                    counts[name] += len(decode_deliveries(reply[2][1:]))
        finally:
            conn.close()

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(watch, "a")
            await nursery.start(watch, "b")
            cx = await WsClient.open(nursery, cluster.nodes["a"].ws_url, x, tokens[x])
            cy = await WsClient.open(nursery, cluster.nodes["a"].ws_url, y, tokens[y])
            for i in range(5):
                assert await cx.send_text(y, f"t{i}", "only a holds us") == 0
                await cy.wait_push(lambda m, i=i: m.clientMsgID == f"t{i}")
            await trio.sleep(0.5)
            for c in (cx, cy):
                await c.aclose()
            nursery.cancel_scope.cancel()

    trio.run(run)
    assert counts["a"] >= 5, counts
    assert counts["b"] == 0, f"node b got deliveries for users it does not hold: {counts}"


def _presence_nodes(cluster: Cluster, users: list[str]) -> set[str]:
    async def read() -> set[str]:
        bus = RedisBus(cluster.redis_url, node_id="test-reader", key_prefix=cluster.key_prefix)
        try:
            live = await bus.presence_get(users)
        finally:
            await bus.aclose()
        return {e.node_id for entries in live.values() for e in entries}

    return trio.run(read)


def test_kill_a_gateway_under_load(cluster: Cluster) -> None:
    pairs, tokens = _users(cluster, 8, "gwk")
    a, b = cluster.nodes["a"].ws_url, cluster.nodes["b"].ws_url
    # Users alternate between the gateways (each pair spans both); everyone falls back to the other one.
    gateways = {u: ([a, b] if i % 2 == 0 else [b, a]) for i, u in enumerate(u for p in pairs for u in p)}
    on_a = [u for u, g in gateways.items() if g[0] == a]

    def kill_a() -> None:
        time.sleep(LOAD_S / 3)
        cluster.kill9("a")

    result = trio.run(lambda: run_load(pairs, tokens, gateways, duration_s=LOAD_S, during=kill_a))
    print("gateway kill:", result.summary())
    assert result.reconnects >= len(on_a), result.summary()
    for user in on_a:
        assert result.connected_to[user][-1] == b, (user, result.connected_to[user])
    checked = check_history(cluster, pairs, tokens, result)
    assert checked == len(result.acked) and checked > 50, result.summary()

    # The dead node leaves the registry and the presence map by TTL (3 s each here).
    _wait("a to leave the registry", lambda: "a" not in {n["node_id"] for n in cluster.status()[1]["nodes"]})
    assert "a" not in _presence_nodes(cluster, on_a)
    cluster.start("a")  # back for the next test


def test_kill_the_transfer_owner_under_load(cluster: Cluster) -> None:
    pairs, tokens = _users(cluster, 8, "trk")
    owners = cluster.owners("transfer")
    victims = [owners[partition_of(single_conversation_id(x, y), PARTITIONS)] for x, y in pairs]
    victim = max(set(victims), key=victims.count)
    survivor = "d" if victim == "c" else "c"
    a, b = cluster.nodes["a"].ws_url, cluster.nodes["b"].ws_url
    gateways = {u: ([a, b] if i % 2 == 0 else [b, a]) for i, u in enumerate(u for p in pairs for u in p)}

    def kill_owner() -> None:
        time.sleep(LOAD_S / 3)
        cluster.kill9(victim)

    result = trio.run(lambda: run_load(pairs, tokens, gateways, duration_s=LOAD_S, during=kill_owner))
    print(f"transfer owner kill ({victim}):", result.summary())
    checked = check_history(cluster, pairs, tokens, result)
    assert checked == len(result.acked) and checked > 50, result.summary()
    _wait(
        f"{survivor} to own every partition",
        lambda: set(cluster.owners("transfer")) == {survivor} == set(cluster.owners("push")),
    )


def test_drain_a_gateway_with_sigterm(cluster: Cluster) -> None:
    """Rolling restart: SIGTERM closes every session with 1001, leaves the registry at once, exits 0;
    the clients reconnect to the other gateway and sync what was sent meanwhile."""
    ((x, y),), tokens = _users(cluster, 2, "drn")
    b = cluster.nodes["b"]

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            on_b = await WsClient.open(nursery, b.ws_url, x, tokens[x])
            peer = await WsClient.open(nursery, cluster.nodes["a"].ws_url, y, tokens[y])
            await trio.to_thread.run_sync(cluster.stop, "b")
            with trio.fail_after(5):
                try:
                    while True:
                        await on_b.ws.get_message()
                except trio_websocket.ConnectionClosed as closed:
                    assert closed.reason.code == 1001, closed.reason
            assert await peer.send_text(x, "while-away", "sent while x moves") == 0
            moved = await WsClient.open(nursery, cluster.nodes["a"].ws_url, x, tokens[x])
            for c in (peer, moved):
                await c.aclose()
            nursery.cancel_scope.cancel()

    trio.run(run)
    assert b.proc is not None and b.proc.returncode == 0, b.log_tail()
    assert "b" not in {n["node_id"] for n in cluster.status()[1]["nodes"]}, "b left the registry on drain"
    stored = cluster.history(x, tokens[x], single_conversation_id(x, y))
    assert [m["clientMsgID"] for m in stored] == ["while-away"]
