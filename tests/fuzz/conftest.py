"""Fixtures of the fuzzers (tests/fuzz): one REAL server process per module.

Every test here is marked ``fuzz``. CI runs the bounded default (about a minute per fuzzer); a longer
run sets ``OPENIM_FUZZ_EXAMPLES`` (examples per REST route and mode, and per WebSocket request type;
default 25) and ``OPENIM_FUZZ_SEED`` (a fixed seed replays a run; by default every run draws new
inputs). See docs/operations.md, "Fuzzing".
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the harness module is imported by name by the test modules

from fuzz_harness import FuzzServer, start_server, stop_server  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: fuzzes a real server process over REST or WebSocket (about a minute)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    srv = start_server(tmp_path_factory.mktemp("fuzz"))
    try:
        yield srv
    finally:
        stop_server(srv)
