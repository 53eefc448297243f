"""`python -m openim serve` from source, as a real process: it starts, answers its probes, migrates its
SQLite store, and stops cleanly on SIGTERM (supervisord, systemd, docker stop) and SIGINT (Ctrl-C)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_from_source_starts_and_stops_cleanly(tmp_path: Path, procs: Any, signum: signal.Signals) -> None:
    cfg = procs.write_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env.update(PYTHONPATH=str(procs.root), HOME=str(tmp_path))
    server = procs.start([sys.executable, "-m", "openim", "serve", "-c", str(cfg.path)], env=env, cwd=tmp_path)

    procs.wait_ok(cfg.base_url + "/healthz", server)
    status, body = procs.get(cfg.base_url + "/readyz")
    assert status == 200, body
    assert (cfg.data_dir / "openim.db").is_file(), "the embedded store was not created under data_dir"

    limit = procs.shutdown_timeout_s
    code, took = server.stop(signum, limit + 10)
    output = server.output()
    assert code == 0, output
    assert took < limit + 3, f"shutdown took {took:.1f}s (timeout {limit:g}s)\n{output}"
    assert "Traceback" not in output, output
    assert '"event": "shutdown.done"' in output, output
