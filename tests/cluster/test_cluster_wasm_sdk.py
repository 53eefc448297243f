"""The official Go SDK core (@openim/wasm-client-sdk, wasm, in headless Chromium) against a cluster on
PostgreSQL + Redis: gateway+api on A and on B, msg+transfer+push on C. The two users sit on different
gateways, so every push crosses nodes through Redis, in gob+gzip at both ends.

The scenario itself (one-to-one, group, read state, offline history after a re-login) is the one
tests/wasm runs on the embedded backends: tests/wasm/wasm_harness.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openim_cluster_harness import Cluster

WASM_DIR = Path(__file__).resolve().parents[1] / "wasm"
if str(WASM_DIR) not in sys.path:
    sys.path.insert(0, str(WASM_DIR))

from wasm_harness import AdminApi, StaticSite, ensure_package, run_chat_scenario  # noqa: E402


@pytest.fixture(scope="module")
def site() -> Iterator[StaticSite]:
    ensure_package()
    with StaticSite() as served:
        yield served


@pytest.fixture(scope="module")
def two_gateways(shared_cluster: Cluster) -> Iterator[Cluster]:
    shared_cluster.add("a", "gateway,api")
    shared_cluster.add("b", "gateway,api")
    shared_cluster.add("c", "msg,transfer,push")
    shared_cluster.start("a", "b", "c")
    yield shared_cluster


@pytest.mark.timeout(300)
def test_wasm_core_on_two_gateways(site: StaticSite, two_gateways: Cluster, tmp_path: Path) -> None:
    a, b = two_gateways.nodes["a"], two_gateways.nodes["b"]
    admin = AdminApi(a.api_url, two_gateways.secret)
    try:
        run_chat_scenario(site, tmp_path, admin, [(a.api_url, a.ws_url), (b.api_url, b.ws_url)], label="cluster")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{two_gateways.logs()}") from None
    for node in (a, b):
        log = node.log_path.read_text(errors="replace")
        assert '"codec": "gob+gzip"' in log, node.log_tail()
        assert '"reason": "protocol error"' not in log, node.log_tail()
