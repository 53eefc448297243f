"""Version, git commit and build date, for `openim version` and the /metrics build info.

A PyInstaller build writes openim/_build_info.py (packaging/openim.spec); a source checkout asks git.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from openim import __version__


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str
    build_date: str


def build_info() -> BuildInfo:
    try:
        from openim import _build_info  # type: ignore[attr-defined]

        return BuildInfo(__version__, str(_build_info.COMMIT), str(_build_info.BUILD_DATE))
    except ImportError:
        pass
    commit = "unknown"
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                capture_output=True, text=True, timeout=5, check=False,
            )
            if out.returncode == 0:
                commit = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return BuildInfo(__version__, commit, "source")
