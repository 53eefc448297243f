"""The image of packaging/Dockerfile, built from this checkout's binary and run under a real Docker daemon
(see conftest.py for how the daemon and the base image are provided). Ports are published on 127.0.0.1 only.

One container (``served``) runs the way docs/operations.md tells an operator to: a config written by
`openim init --container` mounted read-only, the image's own user. It answers /healthz, Docker's
HEALTHCHECK marks it healthy, the official JS SDK chats through it, a SIGKILLed server inside is restarted
by supervisord, and `docker stop` ends it well within its grace period. Other containers: the config
`openim init` writes for a host (root-owned 0600), which the image's user cannot read; environment
overrides over the image's defaults.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.container.conftest import IMAGE_UID_GID, Container, Docker, Published, free_port, http_status
from tests.e2e.node_runner import SCENARIO_TIMEOUT_S, run_node_test

pytestmark = [pytest.mark.container, pytest.mark.binary, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 60  # what docs/operations.md tells operators to give docker stop
RESTART_LIMIT_S = 30.0


@dataclass(frozen=True)
class Served:
    container: Container
    ports: Published
    secret: str


def _init_config(binary: Path, path: Path, *flags: str) -> str:
    result = subprocess.run(
        [str(binary), "init", *flags, "-c", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    secret: str = yaml.safe_load(path.read_text(encoding="utf-8"))["secret"]
    return secret


@pytest.fixture(scope="module")
def served(docker: Docker, image: str, built_binary: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    config = tmp_path_factory.mktemp("served") / "config.yaml"
    secret = _init_config(built_binary.path, config, "--container")
    ports = Published(free_port(), free_port())
    container = docker.start(
        image, *ports.args(), "-v", f"{config}:/data/openim/config.yaml:ro", "--stop-timeout", str(STOP_GRACE_S)
    )
    took = container.wait_http_ok(f"{ports.api}/healthz")
    print(f"/healthz answered {took:.1f}s after docker run")
    try:
        yield Served(container, ports, secret)
    finally:
        docker.remove(container.name)


def _processes(container: Container) -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line) inside the container, from /proc (the slim image has no ps)."""
    script = (
        'for d in /proc/[0-9]*; do p=${d#/proc/}; s=$(cat "$d/stat" 2>/dev/null) || continue; '
        'set -- ${s##*) }; echo "$p $2 $(tr "\\0" " " < "$d/cmdline")"; done'
    )
    out = container.exec("sh", "-c", script).stdout
    table = {}
    for line in out.splitlines():
        pid, ppid, *cmd = line.split()
        table[int(pid)] = (int(ppid), " ".join(cmd))
    return table


def _server_pid(container: Container) -> int:
    """The Python process that serves (the one-file binary runs as bootloader + Python child)."""
    table = _processes(container)
    serving = [pid for pid, (ppid, cmd) in table.items() if " serve" in f" {cmd}" and "supervise" not in cmd
               and " serve" in f" {table.get(ppid, (0, ''))[1]}"]
    assert len(serving) == 1, f"expected one serving process, found {serving}:\n{json.dumps(table, indent=1)}"
    return serving[0]


# -- the container an operator runs ------------------------------------------------------------------------
def test_healthz_answers_and_docker_marks_the_container_healthy(served: Served) -> None:
    assert http_status(f"{served.ports.api}/healthz") == 200
    state = served.container.inspect()["State"]
    assert state["Running"]
    deadline = time.monotonic() + 60  # the HEALTHCHECK runs every 15 s
    while state.get("Health", {}).get("Status") != "healthy" and time.monotonic() < deadline:
        time.sleep(1)
        state = served.container.inspect()["State"]
    assert state["Health"]["Status"] == "healthy", f"{state.get('Health')}\n{served.container.logs()}"
    user = served.container.exec("id", "-u").stdout.strip()
    assert user == str(IMAGE_UID_GID)  # the mounted 0640 config was read as the image's user, not root


@pytest.mark.timeout(SCENARIO_TIMEOUT_S + 60)
def test_js_sdk_chat_through_the_container(served: Served, node_modules: Path) -> None:
    scenario = ROOT / "tests" / "e2e" / "scenarios" / "chat.test.mjs"
    code, output = run_node_test(scenario, api_addr=served.ports.api, ws_addr=served.ports.ws, secret=served.secret)
    assert code == 0, f"{output}\n{served.container.logs()}"


def test_a_sigkilled_server_is_restarted_by_supervisord(served: Served) -> None:
    container = served.container
    before = _server_pid(container)
    start = time.monotonic()
    container.exec("sh", "-c", f"kill -KILL {before}")  # as the image's user, inside the container
    new = None
    while time.monotonic() - start < RESTART_LIMIT_S:
        try:
            new = _server_pid(container)
        except AssertionError:
            new = None  # between the death and the restart
        if new is not None and new != before and http_status(f"{served.ports.api}/healthz") == 200:
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"no new server answering within {RESTART_LIMIT_S:g}s (last pid {new})\n{container.logs()}")
    print(f"server pid {before} SIGKILLed; pid {new} answered /healthz {time.monotonic() - start:.1f}s later")
    assert container.inspect()["State"]["Running"]  # the container itself lived on
    # supervisord calls a program RUNNING once it has stayed up startsecs (3 s, supervisor.d/openim.conf),
    # which can be after /healthz first answers: wait for that, within the same limit.
    while True:
        status = container.exec("openim", "supervise", "status", check=False)
        if "RUNNING" in status.stdout or time.monotonic() - start > RESTART_LIMIT_S + 5:
            break
        time.sleep(0.25)
    assert "RUNNING" in status.stdout, status.stdout + status.stderr


def test_docker_stop_ends_everything_within_the_grace_period(served: Served, docker: Docker) -> None:
    start = time.monotonic()
    docker.run("stop", "-t", str(STOP_GRACE_S), served.container.name, timeout=STOP_GRACE_S + 30)
    took = time.monotonic() - start
    state = served.container.inspect()["State"]
    print(f"docker stop took {took:.1f}s; exit code {state['ExitCode']}")
    assert not state["Running"]
    assert state["ExitCode"] != 137, f"killed after the grace period, not stopped\n{served.container.logs()}"
    assert took < STOP_GRACE_S / 2, f"docker stop took {took:.1f}s\n{served.container.logs()}"


# -- configs and environment -------------------------------------------------------------------------------
def test_a_host_config_written_0600_for_root_is_refused_with_the_fix(
    docker: Docker, image: str, built_binary: Any, tmp_path: Path, published: Published
) -> None:
    """What `openim init` writes for a host install: the image's user cannot read it; the error says so."""
    config = tmp_path / "config.yaml"
    _init_config(built_binary.path, config)
    assert config.stat().st_uid == 0 and oct(config.stat().st_mode & 0o777) == "0o600"
    container = docker.start(image, *published.args(), "-v", f"{config}:/data/openim/config.yaml:ro")
    try:
        deadline = time.monotonic() + 30
        while container.inspect()["State"]["Running"] and time.monotonic() < deadline:
            time.sleep(0.25)
        state = container.inspect()["State"]
        logs = container.logs()
        assert not state["Running"] and state["ExitCode"] != 0, logs
        assert "Permission denied" in logs and f"uid {IMAGE_UID_GID}" in logs and "--container" in logs, logs
    finally:
        docker.remove(container.name)


def test_environment_overrides_beat_the_image_defaults(docker: Docker, image: str, published: Published) -> None:
    """No config file: the image's ENV (data dir, JSON logs) and the built-in defaults (API port), each
    overridden with -e; the running server uses the overrides."""
    secret = f"env-secret-{secrets.token_hex(16)}"
    container = docker.start(
        image,
        *published.args(api_inside=10012),
        "-e", f"OPENIM_SECRET={secret}",
        "-e", "OPENIM_API__PORT=10012",
        "-e", "OPENIM_DATA_DIR=/data/openim/data/alt",
        "-e", "OPENIM_LOG__FORMAT=human",
        "-e", "OPENIM_HEALTHCHECK_URL=http://127.0.0.1:10012/healthz",
    )
    try:
        container.wait_http_ok(f"{published.api}/healthz")
        printed = json.loads(container.exec("openim", "config", "print", "--json").stdout)
        assert printed["data_dir"] == "/data/openim/data/alt"
        assert printed["log"]["format"] == "human" and printed["api"]["port"] == 10012
        files = container.exec("ls", "-A", "/data/openim/data/alt").stdout.split()
        assert files, "the server wrote nothing into the overridden data dir"
        assert container.exec("ls", "-A", "/data/openim/data").stdout.split() == ["alt"]
    finally:
        docker.remove(container.name)
