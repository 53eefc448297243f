"""docs/quickstart.md works as written: its shell blocks of steps 2 and 3 run against a real server.

The only edits are the addresses and the secret (the test server listens on free ports with its own
secret); every other character of the commands is the doc's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RunningServer

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

DOC = REPO_ROOT / "docs" / "quickstart.md"
EXPECTED_OUTPUT = [
    "alice logged in",
    "bob logged in",
    "bob received from alice: hello bob",
    "alice received from bob: hi alice, got it",
]


def doc_script(server: RunningServer) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    steps = [b for b in blocks if "make run" not in b]
    assert len(steps) == 2, "quickstart.md should have the register block and the chat block"
    script = "\n".join(steps)
    for old, new in (
        ("API=http://127.0.0.1:10002", f"API={server.api_addr}"),
        ("SECRET=openIM123", f"SECRET={server.secret}"),
        ("ws://127.0.0.1:10001", server.ws_addr),
    ):
        assert old in script, f"quickstart.md no longer contains {old!r}"
        script = script.replace(old, new)
    return "set -euo pipefail\n" + script


def test_the_quickstart_runs_as_written(openim_server: RunningServer) -> None:
    proc = subprocess.run(
        ["bash", "-c", doc_script(openim_server)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{openim_server.logs()}"
    printed = [line for line in proc.stdout.splitlines() if not line.startswith("{")]
    assert printed == EXPECTED_OUTPUT, proc.stdout
    # The registration answered with the envelope the doc describes.
    assert '{"errCode":0,"errMsg":"","errDlt":""}' in proc.stdout
