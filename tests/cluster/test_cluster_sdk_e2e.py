"""The SDK end-to-end suite (tests/e2e/scenarios, the official @openim/client-sdk 0.0.14 under Node)
against a two-node cluster: gateway+api on A, gateway+api on B, msg+transfer+push on C, on a fresh
PostgreSQL database and a random Redis key prefix.

The harness puts every second SDK instance on node B (OPENIM_WS_ADDR_2 / OPENIM_API_ADDR_2), so each
scenario's users are split across the two gateways: chat, groups, kicks, revokes and sync all cross
nodes through Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from openim_cluster_harness import Cluster

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
SCENARIOS = sorted((E2E_DIR / "scenarios").glob("*.test.mjs"))
SCENARIO_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def two_nodes(shared_cluster: Cluster) -> Iterator[Cluster]:
    if shutil.which("node") is None:
        pytest.fail("node is required for the SDK suite (Node 20+)", pytrace=False)
    if not (E2E_DIR / "node_modules" / "@openim" / "client-sdk" / "package.json").exists():
        pytest.fail("tests/e2e/node_modules is missing: run `make e2e-deps` (npm ci in tests/e2e)", pytrace=False)
    shared_cluster.add("a", "gateway,api")
    shared_cluster.add("b", "gateway,api")
    shared_cluster.add("c", "msg,transfer,push")
    shared_cluster.start("a", "b", "c")
    yield shared_cluster


@pytest.mark.timeout(SCENARIO_TIMEOUT_S + 60)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name.removesuffix(".test.mjs") for p in SCENARIOS])
def test_sdk_scenario_on_two_nodes(scenario: Path, two_nodes: Cluster) -> None:
    a, b = two_nodes.nodes["a"], two_nodes.nodes["b"]
    env = dict(
        os.environ,
        OPENIM_API_ADDR=a.api_url,
        OPENIM_WS_ADDR=a.ws_url,
        OPENIM_API_ADDR_2=b.api_url,
        OPENIM_WS_ADDR_2=b.ws_url,
        OPENIM_SECRET=two_nodes.secret,
    )
    proc = subprocess.Popen(
        ["node", "--test", "--test-reporter=spec", str(scenario)],
        cwd=E2E_DIR, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we created: node --test runs the file in a child
        output, _ = proc.communicate()
        pytest.fail(f"{scenario.name} timed out after {SCENARIO_TIMEOUT_S:.0f}s\n{output}\n{two_nodes.logs()}")
    if proc.returncode != 0:
        pytest.fail(f"node --test {scenario.name} exited {proc.returncode}\n{output}\n{two_nodes.logs()}",
                    pytrace=False)  # fmt: skip
