"""`openim supervise` as the built binary runs it: the bundled supervisord starts the openim program, an
absent sidecar is skipped with one log line, a killed server process is restarted (whether the server itself
or the one-file bootloader above it is killed), `status`, `restart` and `stop` work, and the logs are the
JSON lines that packaging/filebeat.yml expects."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.binary, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


class Supervised:
    """An `openim supervise` process of the test's own, driven through the binary's CLI."""

    def __init__(self, binary: Path, cfg: Any, env: dict[str, str], cwd: Path, procs: Any) -> None:
        self.binary, self.cfg, self.env, self.cwd, self.procs = binary, cfg, env, cwd, procs
        self.server = procs.start([str(binary), "supervise", "-c", str(cfg.path)], env=env, cwd=cwd)

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), "supervise", *args, "-c", str(self.cfg.path)],
            env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=90, check=False,
        )

    def status(self) -> dict[str, tuple[str, int | None]]:
        """program -> (state, pid)"""
        out: dict[str, tuple[str, int | None]] = {}
        for line in self.ctl("status").stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                pid = re.search(r"pid (\d+),", line)
                out[parts[0]] = (parts[1], int(pid.group(1)) if pid else None)
        return out

    def wait_running(self, name: str, not_pid: int | None = None, limit_s: float = 60) -> int:
        """Wait until ``name`` is RUNNING with a pid other than ``not_pid`` and the server answers /healthz."""
        deadline = time.monotonic() + limit_s
        last: Any = None
        while time.monotonic() < deadline:
            assert self.server.proc.poll() is None, f"supervise exited:\n{self.server.output()}"
            last = self.status().get(name)
            if last and last[0] == "RUNNING" and last[1] not in (None, not_pid):
                try:
                    if self.procs.get(self.cfg.base_url + "/healthz", timeout=1.0)[0] == 200:
                        return int(last[1])
                except OSError:
                    pass
            time.sleep(0.3)
        pytest.fail(f"{name} not running again within {limit_s:g}s (last {last}):\n{self.server.output()}")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gone(pid: int, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":  # dead, waiting for its reaper
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def supervised(binary: Path, clean_env: dict[str, str], tmp_path: Path, procs: Any) -> Iterator[Supervised]:
    cfg = procs.write_config(tmp_path)
    sup = Supervised(binary, cfg, clean_env, tmp_path, procs)
    try:
        yield sup
    finally:
        if sup.server.proc.poll() is None:
            sup.ctl("stop")
            try:
                sup.server.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                sup.server.proc.kill()


def test_a_killed_server_is_restarted_and_stop_ends_everything(supervised: Supervised, tmp_path: Path) -> None:
    boot = supervised.wait_running("openim")
    output = supervised.server.output()
    # the Beats are not installed here: one line each, no restart loop
    skipped = [json.loads(line) for line in output.splitlines() if '"sidecar.skipped"' in line]
    assert [e["program"] for e in skipped] == ["filebeat", "metricbeat"], output
    assert "filebeat" not in supervised.status()

    # 1. the server process itself dies (OOM killer, a crash): its bootloader exits, supervisord restarts it
    (server,) = _children(boot)
    os.kill(server, signal.SIGKILL)
    boot2 = supervised.wait_running("openim", not_pid=boot)

    # 2. the bootloader (the pid supervisord knows) is killed: the server below it must not live on holding
    #    the ports (it gets SIGTERM when its parent dies), and the restarted one binds them again
    (server2,) = _children(boot2)
    os.kill(boot2, signal.SIGKILL)
    boot3 = supervised.wait_running("openim", not_pid=boot2)
    assert _gone(server2, 20), f"the orphaned server {server2} is still alive"

    # 3. `restart` gives a new process; `status` reports it
    result = supervised.ctl("restart")
    assert result.returncode == 0, result.stdout + result.stderr
    supervised.wait_running("openim", not_pid=boot3)

    # 4. `stop` shuts supervisord down, the server gracefully, and returns once it is gone
    result = supervised.ctl("stop")
    assert result.returncode == 0, result.stdout + result.stderr
    assert supervised.server.proc.wait(timeout=30) == 0, supervised.server.output()
    log = (tmp_path / "data" / "logs" / "openim.log").read_text(encoding="utf-8")
    assert log.count('"event": "shutdown.done"') >= 1, log[-3000:]
    assert "Traceback" not in log
    # and `status` says nothing runs any more (supervisorctl cannot connect: exit 4)
    assert supervised.ctl("status").returncode != 0


def test_logs_are_what_filebeat_reads_and_metricbeat_scrapes_the_api(supervised: Supervised, tmp_path: Path) -> None:
    supervised.wait_running("openim")
    filebeat = yaml.safe_load((ROOT / "packaging" / "filebeat.yml").read_text(encoding="utf-8"))
    (stream,) = filebeat["filebeat.inputs"]
    pattern = stream["paths"][0].replace("${OPENIM_SUPERVISE_LOGS:/data/openim/logs}", str(tmp_path / "data/logs"))
    files = sorted(Path(pattern).parent.glob(Path(pattern).name))
    assert [f.name for f in files] == ["openim.log"], files  # not supervisord.log, not the stdout capture

    events = [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines() if line.strip()]
    assert events and all({"ts", "level", "logger", "event"} <= e.keys() for e in events)
    # the timestamp processor's Go layout 2006-01-02T15:04:05.000Z is exactly our "ts"
    (layout,) = next(p["timestamp"] for p in filebeat["processors"] if "timestamp" in p)["layouts"]
    assert layout == "2006-01-02T15:04:05.000Z"
    for event in events:
        datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["ts"]), event["ts"]

    metricbeat = yaml.safe_load((tmp_path / "data" / "supervise" / "metricbeat.yml").read_text(encoding="utf-8"))
    prometheus = next(m for m in metricbeat["metricbeat.modules"] if m["module"] == "prometheus")
    assert prometheus["hosts"] == [f"127.0.0.1:{supervised.cfg.api_port}"]
    status, body = supervised.procs.get(f"http://{prometheus['hosts'][0]}{prometheus['metrics_path']}")
    assert status == 200 and b"# TYPE" in body
