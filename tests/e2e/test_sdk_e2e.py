"""End-to-end: the official OpenIM JS SDK (@openim/client-sdk 0.0.14, under Node) against a real
``openim serve`` process.

A module-scoped fixture starts the server on free loopback ports with a throw-away data dir and
config; each scenario file in tests/e2e/scenarios/ then runs as ``node --test <file>`` with
OPENIM_API_ADDR / OPENIM_WS_ADDR / OPENIM_SECRET pointing at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.node_runner import SCENARIO_TIMEOUT_S, run_node_test

if TYPE_CHECKING:
    from conftest import RunningServer

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
SCENARIOS = sorted((E2E_DIR / "scenarios").glob("*.test.mjs"))

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(SCENARIO_TIMEOUT_S + 60)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name.removesuffix(".test.mjs") for p in SCENARIOS])
def test_sdk_scenario(scenario: Path, node_modules: Path, openim_server: RunningServer) -> None:
    returncode, output = run_node_test(
        scenario, api_addr=openim_server.api_addr, ws_addr=openim_server.ws_addr, secret=openim_server.secret
    )
    if returncode != 0:
        pytest.fail(
            f"node --test {scenario.relative_to(REPO_ROOT)} exited with {returncode}\n"
            f"--- node output ---\n{output}\n{openim_server.logs()}",
            pytrace=False,
        )


def test_scenarios_present() -> None:
    names = {p.name for p in SCENARIOS}
    expected = {
        "login.test.mjs",
        "chat.test.mjs",
        "burst.test.mjs",
        "offline.test.mjs",
        "conversation.test.mjs",
        "revoke.test.mjs",
        "kick.test.mjs",
        "user_command.test.mjs",
    }
    assert expected <= names, f"missing scenario files: {sorted(expected - names)}"
