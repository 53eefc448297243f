"""The container image (packaging/Dockerfile) and the compose file (packaging/compose.yaml), built and run.

Session fixtures:

* ``docker``: a Docker daemon that answers, prepared by docker_host.sh (installs Debian's docker.io,
  docker-compose and debootstrap when missing, starts dockerd with vfs storage under /var/lib/docker and its
  own pidfile, left running for later runs, and builds the base image ``openim-test-base:bookworm`` with
  debootstrap once per machine). Where that cannot be done (not root, nothing installable, the daemon does
  not start) every test here SKIPS with the reason -- never passes;
* ``image``: the openim image, built once per session from the one-file binary (``built_binary``, shared with
  tests/packaging) with ``--build-arg BASE_IMAGE=openim-test-base:bookworm``, tagged ``openim-test:latest``.

Containers are named ``openim-test-<random>`` and removed by name by the fixture that started them.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import node_modules  # noqa: F401  (the fixture, for the SDK scenario)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BASE_IMAGE = "openim-test-base:bookworm"
IMAGE = "openim-test:latest"
IMAGE_UID_GID = 10001
HOST_SETUP_LIMIT_S = 900  # packages + debootstrap on a fresh machine: about 2 minutes measured
BUILD_LIMIT_S = 600
HEALTH_LIMIT_S = 60.0


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


@dataclass
class Docker:
    """The docker client of Debian's docker.io (matching its daemon), and what this session started."""

    cli: str
    started: list[str] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 120, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DOCKER_BUILDKIT="0")  # the classic builder: what docker-compose v1 uses as well
        result = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env, **kw
        )
        if check and result.returncode != 0:
            pytest.fail(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def image_exists(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False).returncode == 0

    def build(self, context: Path, tag: str, *, dockerfile: Path | None = None, base: str = BASE_IMAGE) -> None:
        args = ["build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag]
        if dockerfile is not None:
            args += ["-f", str(dockerfile)]
        self.run(*args, str(context), timeout=BUILD_LIMIT_S)

    def start(self, image: str, *args: str, name: str | None = None) -> Container:
        """``docker run -d`` a container named openim-test-<random>; removed at the session's end at the latest."""
        name = name or f"openim-test-{secrets.token_hex(4)}"
        self.started.append(name)
        self.run("run", "-d", "--name", name, *args, image)
        return Container(self, name)

    def remove(self, name: str) -> None:
        self.run("rm", "-f", "-v", name, check=False)
        if name in self.started:
            self.started.remove(name)


@dataclass
class Container:
    docker: Docker
    name: str

    def inspect(self) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self.docker.run("inspect", self.name).stdout)
        return data[0]

    def logs(self) -> str:
        result = self.docker.run("logs", self.name, check=False)
        return f"--- docker logs {self.name} ---\n{result.stdout}{result.stderr}"

    def exec(self, *argv: str, user: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.docker.run("exec", *(["-u", user] if user else []), self.name, *argv, check=check)

    def wait_http_ok(self, url: str, limit_s: float = HEALTH_LIMIT_S) -> float:
        start = time.monotonic()
        while time.monotonic() - start < limit_s:
            if http_status(url) == 200:
                return time.monotonic() - start
            if not self.inspect()["State"]["Running"]:
                pytest.fail(f"container {self.name} exited before {url} answered\n{self.logs()}")
            time.sleep(0.25)
        pytest.fail(f"{url} did not answer 200 within {limit_s:g}s\n{self.logs()}")


def _docker_client() -> str | None:
    # Debian's client first: it matches the daemon it came with (another client on PATH may be newer and
    # want BuildKit through a buildx plugin that is not there).
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    start = time.monotonic()
    result = subprocess.run(
        ["bash", str(HERE / "docker_host.sh"), BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=HOST_SETUP_LIMIT_S,
        check=False,
    )
    if result.returncode == 3:
        pytest.skip(f"no Docker engine on this machine: {result.stderr.strip()}")
    if result.returncode != 0:
        pytest.fail(f"docker_host.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    cli = _docker_client()
    if cli is None:
        pytest.fail("docker_host.sh succeeded but no docker client is on this machine")
    print(f"docker host ready in {time.monotonic() - start:.0f}s: {result.stderr.strip()}")
    session = Docker(cli)
    try:
        yield session
    finally:
        for name in list(session.started):
            session.remove(name)


@pytest.fixture(scope="session")
def image(docker: Docker, built_binary: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image of packaging/Dockerfile with this checkout's binary: built once per session."""
    context = tmp_path_factory.mktemp("image-context")
    shutil.copy2(built_binary.path, context / "openim")
    (context / "openim").chmod(0o755)
    old = docker.run("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    start = time.monotonic()
    docker.build(context, IMAGE, dockerfile=ROOT / "packaging" / "Dockerfile")
    print(f"image {IMAGE} built in {time.monotonic() - start:.0f}s")
    new = docker.run("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    if old and old != new:  # the previous run's image, untagged now: its layers would pile up (vfs copies them)
        docker.run("rmi", old, check=False)
    return IMAGE


def standin_image(docker: Docker, kind: str) -> str:
    """A stand-in for an official image (postgres, redis) from Debian's packages, built once per machine:
    the tag carries a hash of its files, so a change rebuilds it."""
    directory = HERE / "standins" / kind
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    tag = f"openim-test-{kind}:{digest.hexdigest()[:12]}"
    if not docker.image_exists(tag):
        docker.build(directory, tag)
    return tag


@dataclass(frozen=True)
class Published:
    """Host ports (127.0.0.1 only) of a container's gateway and API."""

    ws_port: int
    api_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def args(self, api_inside: int = 10002, ws_inside: int = 10001) -> Sequence[str]:
        return ("-p", f"127.0.0.1:{self.ws_port}:{ws_inside}", "-p", f"127.0.0.1:{self.api_port}:{api_inside}")


@pytest.fixture
def published() -> Published:
    return Published(free_port(), free_port())
