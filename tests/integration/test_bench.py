"""``openim bench`` against a real server process: the tool works end to end and loses nothing.

These are smoke runs (a few seconds, tens of users), not speed tests: they check that the load
generator logs in, sends through the real gateway, sees every delivery at the recipient, and that its
report and exit code agree. Speed is measured with scripts/bench_standard.sh, never in the suite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the conftest is not importable by name at run time (no packages under tests/)
    from conftest import ServerProcess


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_bench(server: ServerProcess, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [
        sys.executable, "-m", "openim", "bench", *args,
        "--api", server.api_url, "--ws", server.ws_url, "--secret", server.secret,
        "--server-pid", str(server.proc.pid), "--procs", "2", "--json", "--no-progress",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, report, proc.stderr


def test_direct_smoke_loses_nothing(server: ServerProcess) -> None:
    # --verify-every 1: every send and every received frame is also decoded in full and compared
    # with the byte scan, against the real gateway's frames.
    rc, report, err = run_bench(server, "direct", "--users", "20", "--duration", "3", "--verify-every", "1")
    assert rc == 0, err + server.log_tail()
    counts = report["counts"]
    assert counts["sent"] > 0
    assert counts["sent"] == counts["acked"] == counts["delivered"] == counts["deliveries"]
    assert counts["lost"] == 0 and counts["duplicates"] == 0 and counts["unexpected"] == 0
    assert report["ok"] is True and report["problems"] == []
    assert report["logins"] == 20 and report["login_failures"] == 0
    assert report["latency"]["n"] == counts["delivered"]
    assert report["msgs_per_s"] > 0 and report["server_cpu_s"] is not None
    # every sender saw its own echo on its connection, and it was not counted as a delivery
    assert report["echoes"] == counts["sent"]
    assert report["verified"] >= 4 * counts["sent"]  # the send, its reply, its echo, its delivery
    assert report["server_cpu_us_per_message"] > 0 and report["server_cpu_us_per_login"] is not None
    assert report["loadgen_cpu_us_per_message"] > 0


def test_direct_smoke_with_go_clients(server: ServerProcess) -> None:
    # --sdk go: the clients speak gzip(gob) as openim-sdk-core does; every frame is checked in full.
    rc, report, err = run_bench(server, "direct", "--sdk", "go", "--users", "10", "--duration", "2",
                                "--verify-every", "1")
    assert rc == 0, err + server.log_tail()
    counts = report["counts"]
    assert counts["sent"] > 0
    assert counts["sent"] == counts["acked"] == counts["delivered"] == counts["deliveries"] == report["echoes"]
    assert counts["lost"] == 0 and counts["duplicates"] == 0 and counts["unexpected"] == 0
    assert report["ok"] is True and report["problems"] == [] and report["login_failures"] == 0
    assert report["settings"]["sdk"] == "go"
    assert report["verified"] >= 4 * counts["sent"]


def test_group_and_connect_with_go_clients(server: ServerProcess) -> None:
    rc, report, err = run_bench(server, "connect", "--sdk", "go", "--connections", "20", "--duration", "1")
    assert rc == 0, err
    assert report["logins"] == 20 and report["login_failures"] == 0
    admin = server.admin_token()
    headers = {"operationID": "probe", "token": admin}
    probe = httpx.post(server.api_url + "/group/create_group", json={}, headers=headers, timeout=15)
    if probe.status_code == 404:
        pytest.skip("/group/create_group is not served yet")
    rc, report, err = run_bench(server, "group", "--sdk", "go", "--members", "8", "--senders", "2",
                                "--duration", "2")
    assert rc == 0, err + server.log_tail()
    counts = report["counts"]
    assert counts["sent"] > 0 and counts["lost"] == 0 and counts["duplicates"] == 0
    assert counts["deliveries"] == counts["acked"] * 7


def test_direct_paced_smoke(server: ServerProcess) -> None:
    rc, report, err = run_bench(server, "direct", "--users", "10", "--duration", "2", "--rate", "50")
    assert rc == 0, err
    counts = report["counts"]
    assert 50 <= counts["sent"] <= 110  # 2 s at 50 msgs/s, rounding at both ends
    assert counts["sent"] == counts["delivered"] and counts["lost"] == 0


def test_connect_smoke(server: ServerProcess) -> None:
    rc, report, err = run_bench(server, "connect", "--connections", "50", "--duration", "1")
    assert rc == 0, err
    assert report["logins"] == 50 and report["logins_per_s"] > 0
    assert report["server_rss_end"] is not None and report["rss_per_connection"] is not None


def test_group_smoke(server: ServerProcess) -> None:
    admin = server.admin_token()
    headers = {"operationID": "probe", "token": admin}
    probe = httpx.post(server.api_url + "/group/create_group", json={}, headers=headers, timeout=15)
    if probe.status_code == 404:
        pytest.skip("/group/create_group is not served yet")
    rc, report, err = run_bench(server, "group", "--members", "12", "--senders", "3", "--duration", "2")
    assert rc == 0, err + server.log_tail()
    counts = report["counts"]
    assert counts["sent"] > 0 and counts["lost"] == 0 and counts["duplicates"] == 0
    assert counts["deliveries"] == counts["acked"] * 11


def test_unreachable_server_is_a_usage_error(server: ServerProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = ROOT
    proc = subprocess.run(
        [sys.executable, "-m", "openim", "bench", "direct", "--api", "http://127.0.0.1:9", "--ws", "ws://127.0.0.1:9",
         "--secret", "x", "--users", "2", "--duration", "1", "--no-progress"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert "set-up failed" in proc.stderr


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    """A load generator sends far above any person's rate: the per-user send limit is off here."""
    return "security: {send_rate: 0}\n"


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[str, str, int]]:
    """scripts/bench_standin.py, the storage-less stand-in the bench's own cost is measured against."""
    api_port, ws_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "scripts", "bench_standin.py"), "--api-port", str(api_port),
         "--ws-port", str(ws_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None and b"stand-in:" in proc.stdout.readline()
        yield f"http://127.0.0.1:{api_port}", f"ws://127.0.0.1:{ws_port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("workload", [("direct", "--users", "30"), ("group", "--members", "15", "--senders", "4")])
def test_bench_against_the_standin(standin: tuple[str, str, int], workload: tuple[str, ...]) -> None:
    api, ws, pid = standin
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "openim", "bench", *workload, "--api", api, "--ws", ws, "--secret", "x",
         "--server-pid", str(pid), "--duration", "2", "--verify-every", "1", "--json", "--no-progress"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    counts = report["counts"]
    fanout = 1 if workload[0] == "direct" else 14
    assert counts["sent"] > 100 and counts["deliveries"] == counts["acked"] * fanout == counts["sent"] * fanout
    assert report["verified"] >= counts["sent"] * (3 + fanout)
