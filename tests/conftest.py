"""Session fixtures shared by more than one test directory.

* ``built_binary`` / ``binary``: the one-file executable, built ONCE per session with scripts/build_binary.sh
  (a few minutes: mypyc + PyInstaller), for tests/packaging and tests/container; set
  OPENIM_TEST_BINARY=/path/to/openim to test an existing build instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# -- the one-file binary, built once per session ----------------------------------------------------------
BUILD_LIMIT_S = 600


@dataclass(frozen=True)
class BuiltBinary:
    path: Path
    commit: str | None  # the commit checked out when this session built it; None for OPENIM_TEST_BINARY


def _git_commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() if out.returncode == 0 else "unknown"


@pytest.fixture(scope="session")
def built_binary(tmp_path_factory: pytest.TempPathFactory) -> BuiltBinary:
    given = os.environ.get("OPENIM_TEST_BINARY")
    if given:
        return BuiltBinary(Path(given).resolve(), None)
    commit = _git_commit()
    out = tmp_path_factory.mktemp("binary")
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_binary.sh"), str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_LIMIT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"build_binary.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    built = out / "openim"
    assert built.is_file() and os.access(built, os.X_OK), f"no executable at {built}\n{result.stdout}"
    assert not (ROOT / "openim" / "_build_info.py").exists(), "the build left openim/_build_info.py in the tree"
    return BuiltBinary(built, commit)


@pytest.fixture(scope="session")
def binary(built_binary: BuiltBinary) -> Path:
    return built_binary.path
