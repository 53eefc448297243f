"""The config as real `python -m openim` processes read it (from source, no binary build):

* one review (openim.config_review.review_config) behind `config check`, `serve` and `supervise`: a config one of
  them refuses, every one refuses, exit 2 and the same lines -- so the systemd units' ExecStartPre
  (`openim config check`) stops a config before `serve`/`supervise` can crash-loop on it; a config they
  accept, check accepts;
* relative paths from the config file's folder: `config print` and `supervise status|stop` from another
  directory find what `supervise` started;
* the public example secret: a warning logged at start and listed by /admin/api/warnings, listeners on
  127.0.0.1 only; with a secret of its own, none of it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SECRET = "openIM123"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    return env


def _openim(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openim", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


# -- one review: config check refuses what serve and supervise refuse, with their words ------------------------
REFUSED = {
    # Nothing listens on port 1: should a refusal ever be skipped, serve fails fast instead of hanging.
    "cluster-example-secret": "storage: {backend: postgres, postgres_dsn: 'postgresql://127.0.0.1:1/none'}\n"
    "bus: {backend: redis, redis_url: 'redis://127.0.0.1:1/0'}\n",
    "embedded-two-processes": "secret: a-secret-of-our-own-0123456789\nsupervise: {processes: 2}\n",
    "static-unlisted-node": "secret: a-secret-of-our-own-0123456789\nnode_id: gw-9\n"
    "storage: {backend: postgres, postgres_dsn: 'postgresql://127.0.0.1:1/none'}\n"
    "bus: {backend: redis, redis_url: 'redis://127.0.0.1:1/0'}\n"
    "cluster: {discovery: static, static_nodes: {gw-1: {gateway: '10.0.0.1:10001'}}}\n",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_check_refuses_what_serve_and_supervise_refuse_with_the_same_lines(tmp_path: Path, case: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: ./data\n{REFUSED[case]}", encoding="utf-8")
    env = _env(tmp_path)
    check = _openim("config", "check", "-c", str(config), cwd=tmp_path, env=env)
    serve = _openim("serve", "-c", str(config), cwd=tmp_path, env=env)
    supervise = _openim("supervise", "-c", str(config), cwd=tmp_path, env=env)
    for name, proc in (("check", check), ("serve", serve), ("supervise", supervise)):
        assert proc.returncode == 2, f"{name}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    lines = check.stderr.splitlines()
    assert lines and all(line.startswith(f"config error: {config}: ") for line in lines), check.stderr
    assert serve.stderr == check.stderr and supervise.stderr == check.stderr
    assert check.stdout == "" and not (tmp_path / "data").exists()  # refused before anything was created


def test_a_config_check_accepts_is_served_and_a_secret_of_its_own_warns_of_nothing(tmp_path: Path, procs: Any) -> None:
    cfg = procs.write_config(tmp_path)  # a secret of its own, loopback ports
    env = _env(tmp_path)
    check = _openim("config", "check", "-c", str(cfg.path), cwd=tmp_path, env=env)
    assert (check.returncode, check.stdout, check.stderr) == (0, f"ok: {cfg.path}\n", "")

    server = procs.start([sys.executable, "-m", "openim", "serve", "-c", str(cfg.path)], env=env, cwd=tmp_path)
    procs.wait_ok(cfg.base_url + "/healthz", server)
    assert _admin_warnings(cfg.base_url, secret=_secret_of(cfg.path)) == []
    code, _ = server.stop(signal.SIGTERM, procs.shutdown_timeout_s + 10)
    assert code == 0, server.output()
    assert "config.warning" not in server.output()


# -- the example secret: a warning at start and in /admin, listeners on 127.0.0.1 -------------------------------
def _secret_of(path: Path) -> str:
    return str(yaml.safe_load(path.read_text(encoding="utf-8"))["secret"])


def _admin_warnings(base_url: str, *, secret: str) -> list[str]:
    login = httpx.post(f"{base_url}/admin/api/login", json={"secret": secret}, timeout=10).json()
    token = login["data"]["token"]
    answer = httpx.get(f"{base_url}/admin/api/warnings", headers={"token": token}, timeout=10).json()
    assert answer["errCode"] == 0, answer
    return list(answer["data"] or [])


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_example_secret_is_warned_of_at_start_and_in_admin_and_binds_loopback(tmp_path: Path, procs: Any) -> None:
    api_port, ws_port = procs.free_port(), procs.free_port()
    config = tmp_path / "config.yaml"
    # no secret, no host: the embedded default on ports of the test's own
    config.write_text(
        f"api: {{port: {api_port}}}\ngateway: {{port: {ws_port}}}\nlog: {{format: json}}\nshutdown_timeout: 5s\n",
        encoding="utf-8",
    )
    env = _env(tmp_path)
    check = _openim("config", "check", "-c", str(config), cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr
    (warning,) = check.stderr.splitlines()
    assert warning.startswith(f"warning: {config}: secret: the public example value 'openIM123' ")
    assert "listens on 127.0.0.1 only" in warning and "openim init" in warning and "OPENIM_SECRET" in warning

    server = procs.start([sys.executable, "-m", "openim", "serve", "-c", str(config)], env=env, cwd=tmp_path)
    base_url = f"http://127.0.0.1:{api_port}"
    procs.wait_ok(base_url + "/healthz", server)
    events = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    (logged,) = [e for e in events if e["event"] == "config.warning.secret"]
    assert logged["level"] == "warning" and f"warning: {logged['warning']}" == warning
    assert _admin_warnings(base_url, secret=EXAMPLE_SECRET) == [logged["warning"]]
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, as IPv4 and v4-mapped
    for port in (api_port, ws_port):
        assert _listening(port) and _listening(port) <= loopback, (port, _listening(port))
    code, _ = server.stop(signal.SIGTERM, procs.shutdown_timeout_s + 10)
    assert code == 0, server.output()


# -- relative paths: from the config file's folder, whatever the current directory ------------------------------
def test_config_print_from_another_directory_resolves_paths_from_the_files_folder(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    (site / "config.yaml").write_text("data_dir: ./state\nstorage: {sqlite_path: db/im.sqlite}\n", encoding="utf-8")
    env = _env(tmp_path)
    printed = _openim("config", "print", "--json", "-c", "../site/config.yaml", cwd=elsewhere, env=env)
    assert printed.returncode == 0, printed.stderr
    data = json.loads(printed.stdout)
    assert data["data_dir"] == str(site / "state")
    assert data["storage"]["sqlite_path"] == str(site / "db" / "im.sqlite")
    # the environment's value, and no file at all, keep the current directory
    env_dir = _openim("config", "print", "--json", "-c", "../site/config.yaml", cwd=elsewhere,
                      env={**env, "OPENIM_DATA_DIR": "./mine"})  # fmt: skip
    assert json.loads(env_dir.stdout)["data_dir"] == "./mine"
    if not Path("/data/openim/config.yaml").exists():  # the lookup's system file would be read instead
        no_file = _openim("config", "print", "--json", cwd=elsewhere, env=env)
        assert json.loads(no_file.stdout)["data_dir"] == "./data"


def test_supervise_status_and_stop_from_another_directory_find_the_supervisor(tmp_path: Path, procs: Any) -> None:
    """`openim supervise` started in one directory, driven with the same config from another (as an operator's
    shell, or systemd's ExecReload with its own working directory, would)."""
    site, started_in, elsewhere = tmp_path / "site", tmp_path / "started-in", tmp_path / "elsewhere"
    for directory in (site, started_in, elsewhere):
        directory.mkdir()
    cfg = procs.write_config(site)
    text = cfg.path.read_text(encoding="utf-8").replace(f'data_dir: "{cfg.data_dir}"', "data_dir: ./data")
    assert "data_dir: ./data" in text
    cfg.path.write_text(text, encoding="utf-8")
    env = _env(tmp_path)
    supervisor = procs.start([sys.executable, "-m", "openim", "supervise", "-c", str(cfg.path)], env=env,
                             cwd=started_in)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = _openim("supervise", "status", "-c", "../site/config.yaml", cwd=elsewhere, env=env)
        while "RUNNING" not in status.stdout and time.monotonic() < deadline:
            assert supervisor.proc.poll() is None, supervisor.output()
            time.sleep(0.3)
            status = _openim("supervise", "status", "-c", "../site/config.yaml", cwd=elsewhere, env=env)
        assert status.returncode == 0 and status.stdout.split()[:2] == ["openim", "RUNNING"], (
            status.stdout + status.stderr + supervisor.output()
        )
        procs.wait_ok(cfg.base_url + "/healthz", supervisor)
        assert (site / "data" / "supervise" / "supervisord.conf").is_file()
        assert (site / "data" / "openim.db").is_file() and not (started_in / "data").exists()
    finally:
        stop = _openim("supervise", "stop", "-c", "../site/config.yaml", cwd=elsewhere, env=env, timeout=90)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert supervisor.proc.wait(timeout=30) == 0, supervisor.output()
