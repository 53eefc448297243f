"""Version, git commit and build date, for `openim version` and the /metrics build info.

A PyInstaller build writes openim/_build_info.py (packaging/openim.spec); a source checkout asks git.
:func:`compiled_modules` tells which of our modules run compiled (mypyc, scripts/build_binary.sh).
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


def compiled_modules() -> list[str]:
    """Our modules that are compiled extensions rather than Python source: the send path's hot modules in
    the one-file binary (packaging/mypyc-modules.txt), none in a source checkout. Read from the files
    beside the package (where the binary unpacks its extensions, and where Python would load an extension
    before a source file of the same name); nothing is imported."""
    import openim

    root = Path(openim.__file__).resolve().parent
    names = set()
    for path in root.rglob("*"):
        if path.suffix in (".so", ".pyd") and path.is_file():
            parts = path.relative_to(root).parts
            names.add(".".join(("openim", *parts[:-1], parts[-1].split(".", 1)[0])))
    return sorted(names)
