"""Fixtures of the cluster suites (docs/operations.md, "Cluster"): real processes on PostgreSQL + Redis.

- ``shared_cluster`` (module scope): a database of its own in the shared PostgreSQL and a random key
  prefix on the shared Redis; nodes are added and started by the test module. Nothing destructive may
  be done to these servers (other suites use them at the same time).
- ``private_servers`` (module scope): a redis-server and a PostgreSQL instance of our own on free
  loopback ports, for the tests that restart them and flush Redis.

Every test here is marked ``cluster`` (``-m 'not cluster'`` deselects them locally; CI runs them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the harness module is imported by name by the test modules

from openim_cluster_harness import (  # noqa: E402
    SHARED_POSTGRES_ADMIN_DSN,
    SHARED_REDIS_URL,
    Cluster,
    PostgresServer,
    RedisServer,
    drop_redis_prefix,
    fresh_database,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: starts real server processes on PostgreSQL + Redis and kills some of them (slow)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster config on the shared servers: its own database, its own Redis key prefix."""
    base = tmp_path_factory.mktemp("cluster")
    try:
        db = fresh_database(SHARED_POSTGRES_ADMIN_DSN)
        dsn = db.__enter__()
    except OSError as exc:
        pytest.skip(f"the shared PostgreSQL is not reachable: {exc}")
    cluster = Cluster(base, dsn=dsn, redis_url=SHARED_REDIS_URL)
    try:
        yield cluster
    finally:
        cluster.close()
        drop_redis_prefix(SHARED_REDIS_URL, cluster.key_prefix)
        db.__exit__(None, None, None)


@pytest.fixture(scope="module")
def private_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresServer, RedisServer]]:
    """A PostgreSQL and a Redis of this module's own, which its tests may restart and flush."""
    pg = PostgresServer()
    redis = RedisServer(tmp_path_factory.mktemp("private-redis"))
    try:
        pg.init()
        pg.start()
        redis.start()
    except (RuntimeError, OSError) as exc:
        redis.stop()
        pg.remove()
        pytest.fail(f"cannot start a private PostgreSQL/Redis: {exc}", pytrace=False)
    try:
        yield pg, redis
    finally:
        redis.stop()
        pg.remove()
