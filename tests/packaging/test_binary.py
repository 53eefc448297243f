"""The one-file executable (the session's ``binary`` fixture, conftest.py), run with a clean environment (no
PYTHONPATH, no virtualenv on PATH, a fresh HOME) to prove it needs no Python of ours.

Set OPENIM_TEST_BINARY=/path/to/openim to test an existing build instead of building one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.binary, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


def _run(binary: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_version_names_version_commit_and_build_date(
    built_binary: Any, clean_env: dict[str, str], tmp_path: Path
) -> None:
    from openim import __version__

    binary = built_binary.path
    result = _run(binary, "version", env=clean_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(
        r"openim (?P<version>\S+) \(commit (?P<commit>[0-9a-f]{12}|unknown), "
        r"built (?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), (?P<compiled>\d+) modules compiled\)\n",
        result.stdout,
    )
    assert match, f"unexpected version line: {result.stdout!r}"
    assert match["version"] == __version__
    if os.environ.get("OPENIM_COMPILE", "1") != "0" and not os.environ.get("OPENIM_TEST_BINARY"):
        listed = [
            line for line in (ROOT / "packaging" / "mypyc-modules.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]  # fmt: skip
        assert int(match["compiled"]) == len(listed), "every module of packaging/mypyc-modules.txt is compiled"
    if built_binary.commit is not None:  # a build of this checkout names its commit
        assert match["commit"] == built_binary.commit


def test_config_check_rejects_a_bad_file_in_one_line(binary: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("api:\n  port: 70000\n", encoding="utf-8")
    result = _run(binary, "config", "check", "-c", str(bad), env=clean_env, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and "api.port" in lines[0] and "65535" in lines[0], lines[0]

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("gateway:\n  prot: 10001\n", encoding="utf-8")
    result = _run(binary, "config", "check", "-c", str(unknown), env=clean_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"config error: {unknown}: gateway.prot: unknown key"]


def test_serve_runs_migrations_answers_probes_and_stops_on_sigterm(
    binary: Path, clean_env: dict[str, str], tmp_path: Path, procs: Any
) -> None:
    cfg = procs.write_config(tmp_path)
    server = procs.start([str(binary), "serve", "-c", str(cfg.path)], env=clean_env, cwd=tmp_path)

    procs.wait_ok(cfg.base_url + "/healthz", server, limit_s=30)
    status, body = procs.get(cfg.base_url + "/readyz")
    assert status == 200, body
    # The Alembic scripts ran inside the binary: the store exists and is at a revision.
    db = cfg.data_dir / "openim.db"
    assert db.is_file()
    import sqlite3

    with sqlite3.connect(db) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision

    limit = procs.shutdown_timeout_s
    code, took = server.stop(signal.SIGTERM, limit + 10)
    output = server.output()
    assert code == 0, output
    assert took < limit + 3, f"shutdown took {took:.1f}s (timeout {limit:g}s)\n{output}"
    assert "Traceback" not in output, output
    # the fast protobuf backend made it into the bundle (the pure-Python one is 40-75x slower)
    assert '"protobuf": "upb"' in output, output
    assert '"event": "shutdown.done"' in output, output


POSTGRES_ADMIN_DSN = os.environ.get("OPENIM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _pg(dsn: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


@pytest.fixture
def cluster_backends() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database and a Redis key prefix of this test's own; both removed afterwards."""
    import asyncio
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import redis

    name = f"openim_bin_{uuid.uuid4().hex[:12]}"
    prefix = f"test-bin:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        asyncio.run(_pg(POSTGRES_ADMIN_DSN, f'CREATE DATABASE "{name}"'))
        client.ping()
    except Exception as exc:  # the services are CI's (.ci/run starts them); elsewhere they may be absent
        pytest.skip(f"PostgreSQL ({POSTGRES_ADMIN_DSN}) or Redis ({REDIS_URL}) not reachable: {exc}")
    dsn = urlunsplit(urlsplit(POSTGRES_ADMIN_DSN)._replace(path=f"/{name}"))
    try:
        yield dsn, prefix
    finally:
        asyncio.run(_pg(POSTGRES_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        keys = list(client.scan_iter(match=prefix + "*", count=1000))  # never FLUSHALL: the Redis is shared
        if keys:
            client.delete(*keys)
        client.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_serve_in_cluster_mode_on_postgres_and_redis(
    binary: Path, clean_env: dict[str, str], tmp_path: Path, procs: Any, cluster_backends: tuple[str, str]
) -> None:
    """asyncpg's Cython modules and the Redis bus work inside the binary; PostgreSQL is migrated by it."""
    import asyncio

    dsn, prefix = cluster_backends
    cfg = procs.write_config(tmp_path)
    with cfg.path.open("a", encoding="utf-8") as out:
        out.write(
            f'storage:\n  backend: postgres\n  postgres_dsn: "{dsn}"\n  pool_size: 2\n'
            f'bus:\n  backend: redis\n  redis_url: "{REDIS_URL}"\n  key_prefix: "{prefix}"\n'
        )
    server = procs.start([str(binary), "serve", "-c", str(cfg.path)], env=clean_env, cwd=tmp_path)

    procs.wait_ok(cfg.base_url + "/readyz", server, limit_s=30)
    (row,) = asyncio.run(_pg(dsn, "SELECT version_num FROM alembic_version"))
    assert row[0]

    code, _ = server.stop(signal.SIGTERM, procs.shutdown_timeout_s + 10)
    output = server.output()
    assert code == 0, output
    assert "Traceback" not in output, output


def test_the_compiled_send_path_stores_and_delivers(
    binary: Path, clean_env: dict[str, str], tmp_path: Path, procs: Any
) -> None:
    """`openim bench` (in the same binary) against the binary's server: one-to-one messages through the
    compiled send path are acked, stored and delivered, none lost or duplicated."""
    cfg = procs.write_config(tmp_path)
    with cfg.path.open("a", encoding="utf-8") as f:
        f.write("security: {send_rate: 0}\n")  # a load generator is not a person
    secret = re.search(r'^secret: "(.+)"$', cfg.path.read_text(), re.M)
    assert secret is not None
    server = procs.start([str(binary), "serve", "-c", str(cfg.path)], env=clean_env, cwd=tmp_path)
    procs.wait_ok(cfg.base_url + "/healthz", server, limit_s=30)
    result = subprocess.run(
        [str(binary), "bench", "direct", "--api", cfg.base_url, "--ws", f"ws://127.0.0.1:{cfg.gateway_port}",
         "--secret", secret[1], "--users", "6", "--window", "4", "--duration", "1", "--procs", "1", "--json",
         "--no-progress"],
        env=clean_env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert report["ok"], report
    assert report["counts"]["acked"] > 0 and report["counts"]["lost"] == 0 and report["counts"]["duplicates"] == 0
    code, _ = server.stop(signal.SIGTERM, procs.shutdown_timeout_s + 10)
    output = server.output()
    assert code == 0, output
    ready = [json.loads(line) for line in output.splitlines() if '"event": "ready"' in line]
    assert ready and ready[0]["compiled"] > 0, output
