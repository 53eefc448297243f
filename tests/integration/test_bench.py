"""``openim bench`` against a real server process: the tool works end to end and loses nothing.

These are smoke runs (a few seconds, tens of users), not speed tests: they check that the load
generator logs in, sends through the real gateway, sees every delivery at the recipient, and that its
report and exit code agree. Speed is measured with scripts/bench_standard.sh, never in the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the conftest is not importable by name at run time (no packages under tests/)
    from conftest import ServerProcess

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
    rc, report, err = run_bench(server, "direct", "--users", "20", "--duration", "3")
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
