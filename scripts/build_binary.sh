#!/usr/bin/env bash
# Build the one-file `openim` executable with PyInstaller from packaging/openim.spec.
#
#   scripts/build_binary.sh [OUTDIR]     # writes OUTDIR/openim (default: dist/ at the repository root)
#
# The Python used is $PYTHON, else .venv/bin/python when present, else python3; it needs the package and
# its dev extra installed (`make binary` does both). PyInstaller's work files go to a temporary directory
# that is removed afterwards, and so does the generated openim/_build_info.py (commit and build date): the
# source tree is left as it was.
#
# Compiled send path: the modules listed in packaging/mypyc-modules.txt are compiled with mypyc (from the
# dev extra; needs a C compiler and the Python headers, about two minutes) in a copy of the tree, and the
# binary is built from that copy. OPENIM_COMPILE=0 builds an all-Python binary instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ -z "${PYTHON:-}" ]; then
    if [ -x "$root/.venv/bin/python" ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
# The build runs in a temporary directory: make a relative interpreter path absolute (without resolving
# the symlink, which would leave the virtualenv).
if [[ "$PYTHON" == */* ]]; then PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"; fi
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
    echo "build_binary: PyInstaller is not installed for $PYTHON; run: make binary (or pip install -e '.[dev]')" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/openim-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

OPENIM_BUILD_COMMIT="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
OPENIM_BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
export OPENIM_BUILD_COMMIT OPENIM_BUILD_DATE

echo "build_binary: commit $OPENIM_BUILD_COMMIT, date $OPENIM_BUILD_DATE, python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
start=$(date +%s)
src="$root"
if [ "${OPENIM_COMPILE:-1}" != "0" ]; then
    # A copy of what the binary is built from (the package, its packaging files, the mypy settings), with
    # the listed modules compiled in place next to their sources.
    src="$work/src"
    mkdir -p "$src"
    cp -r "$root/openim" "$root/packaging" "$root/supervisor.d" "$root/pyproject.toml" "$src/"
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    mapfile -t modules < <(grep -v '^\s*\(#\|$\)' "$root/packaging/mypyc-modules.txt")
    echo "build_binary: compiling ${#modules[@]} modules with mypyc"
    if ! (cd "$src" && "$PYTHON" -m mypyc "${modules[@]}" > "$work/mypyc.log" 2>&1); then
        tail -n 40 "$work/mypyc.log" >&2
        echo "build_binary: mypyc failed (OPENIM_COMPILE=0 builds without it)" >&2
        exit 1
    fi
    rm -rf "$src/build"
fi
# Run from the work directory, so nothing (a stray build/ or .spec output) lands in the tree.
(cd "$work" && "$PYTHON" -m PyInstaller --noconfirm --log-level "${PYINSTALLER_LOG_LEVEL:-WARN}" \
    --distpath "$out" --workpath "$work/build" "$src/packaging/openim.spec")
echo "build_binary: $out/openim ($(du -h "$out/openim" | cut -f1)) in $(( $(date +%s) - start ))s"
