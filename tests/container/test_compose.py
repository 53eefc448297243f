"""packaging/compose.yaml under Debian's docker-compose: up (with the session's image: one image build per
run), /healthz through the edge container, `openim cluster status`, down. The file is used as it is, from a
copy of its directory layout (packaging/ beside dist/openim) in a temporary directory; no image registry is
reachable here, so postgres:16 and redis:7 are replaced through the file's own variables by stand-ins built
from Debian's packages (tests/container/standins/), and the edge's ports are published on 127.0.0.1 only,
on free ports."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.container.conftest import BASE_IMAGE, Docker, free_port, http_status, standin_image

pytestmark = [pytest.mark.container, pytest.mark.binary, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
UP_LIMIT_S = 180.0


def test_compose_up_healthz_down(docker: Docker, image: str, built_binary: Any, tmp_path: Path) -> None:
    compose_bin = shutil.which("docker-compose")
    assert compose_bin is not None, "docker_host.sh installs docker-compose"
    tree = tmp_path / "tree"
    (tree / "packaging").mkdir(parents=True)
    (tree / "dist").mkdir()
    shutil.copy2(ROOT / "packaging" / "compose.yaml", tree / "packaging" / "compose.yaml")
    shutil.copy2(ROOT / "packaging" / "Dockerfile", tree / "packaging" / "Dockerfile")
    shutil.copy2(built_binary.path, tree / "dist" / "openim")

    api_port, ws_port = free_port(), free_port()
    project = f"openim-test-{secrets.token_hex(4)}"
    env = dict(
        os.environ,
        DOCKER_BUILDKIT="0",
        OPENIM_SECRET=secrets.token_hex(24),
        POSTGRES_PASSWORD=secrets.token_hex(16),
        OPENIM_IMAGE=image,
        OPENIM_BASE_IMAGE=BASE_IMAGE,
        OPENIM_POSTGRES_IMAGE=standin_image(docker, "postgres"),
        OPENIM_REDIS_IMAGE=standin_image(docker, "redis"),
        OPENIM_PUBLISH_ADDR="127.0.0.1",
        OPENIM_API_PORT=str(api_port),
        OPENIM_WS_PORT=str(ws_port),
    )
    base = [compose_bin, "-p", project, "-f", str(tree / "packaging" / "compose.yaml")]

    def compose(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=tree
        )
        if check and result.returncode != 0:
            pytest.fail(f"docker-compose {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    try:
        start = time.monotonic()
        # One image build per run: the session's image (the same Dockerfile, binary and base) stands for what the
        # build section would make; its context and arguments are only resolved here (`config`).
        resolved = compose("config").stdout
        assert "BASE_IMAGE: openim-test-base:bookworm" in resolved and f"image: {image}" in resolved, resolved
        compose("up", "-d", "--no-build")
        url = f"http://127.0.0.1:{api_port}/healthz"
        while http_status(url) != 200:
            if time.monotonic() - start > UP_LIMIT_S:
                logs = compose("logs", "--no-color", "--tail", "200", check=False)
                pytest.fail(f"{url} did not answer within {UP_LIMIT_S:g}s\n{logs.stdout}{logs.stderr}")
            time.sleep(1)
        print(f"compose up: /healthz answered after {time.monotonic() - start:.0f}s")
        ps = compose("ps").stdout
        for service in ("openim-edge", "openim-core", "postgres", "redis"):
            assert f"{project}_{service}_1" in ps and "Up" in ps, ps
        nodes = subprocess.run(
            [docker.cli, "exec", f"{project}_openim-edge_1", "openim", "cluster", "status"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert nodes.returncode == 0, nodes.stdout + nodes.stderr
        start = time.monotonic()
        compose("down", "-v")
        print(f"compose down: {time.monotonic() - start:.0f}s")
        left = docker.run("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}").stdout
        assert left.strip() == "", f"containers left after down: {left}"
    finally:
        compose("down", "-v", "--remove-orphans", check=False)
