#!/usr/bin/env python3
"""Regenerate (or verify) the checked-in protobuf Python code under ``openim/wire/pb/``.

    python scripts/gen_proto.py           # rewrite openim/wire/pb/*_pb2.py(i) from openim/wire/proto/
    python scripts/gen_proto.py --check   # regenerate into a temp dir, exit 1 if the tree differs

Why the generated code is checked in: the server must import on a host (or inside a PyInstaller
binary) that has no protoc, and reviewers should see wire changes in diffs.

Why the sources are staged: protoc derives a generated module's imports from the path a ``.proto``
file is known by. The sources live in ``openim/wire/proto/`` but import each other as
``openim/wire/pb/<name>.proto``; compiling them from a temporary tree where they sit at exactly that
path makes protoc emit ``from openim.wire.pb import sdkws_pb2``, a package-absolute import that works
from a checkout, an installed wheel and a frozen binary alike, with no sys.path tricks and no
rewriting of generated text. The same path is the file's name in the descriptor pool, which keeps it
clear of any other library that registers a ``sdkws.proto``.

The output depends on the protoc bundled with grpcio-tools; ``--check`` says so when the versions
differ, because then a difference is expected and the fix is to regenerate with the pinned tools.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "openim" / "wire" / "proto"
PB_DIR = ROOT / "openim" / "wire" / "pb"
# The path the sources are compiled under; it must match the import statements in the .proto files.
VIRTUAL_DIR = Path("openim") / "wire" / "pb"
# Files in PB_DIR that this script owns (everything else there, e.g. __init__.py, is hand-written).
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi")
_VERSION_LINE = re.compile(r"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


class GenerationError(RuntimeError):
    """protoc failed or is unavailable; the message says what to do."""


def _protoc_main() -> tuple[object, str]:
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GenerationError(
            "grpcio-tools is not installed; install the dev extra (pip install -e '.[dev]')"
        ) from exc
    return protoc, str(Path(protoc.__file__).parent / "_proto")


def generate(out_dir: Path) -> dict[str, bytes]:
    """Compile every source into ``out_dir`` and return {file name: content} of the generated files."""
    protoc, well_known = _protoc_main()
    sources = sorted(PROTO_DIR.glob("*.proto"))
    if not sources:
        raise GenerationError(f"no .proto files in {PROTO_DIR}")
    with tempfile.TemporaryDirectory(prefix="openim-proto-src-") as staging_name:
        staging = Path(staging_name)
        (staging / VIRTUAL_DIR).mkdir(parents=True)
        for src in sources:
            shutil.copyfile(src, staging / VIRTUAL_DIR / src.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        args = [
            "protoc",
            f"-I{staging}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            # Absolute paths of the staged copies: protoc maps them back to their path under the
            # -I root, which is the name that ends up in the generated imports.
            *(str(staging / VIRTUAL_DIR / src.name) for src in sources),
        ]
        status = protoc.main(args)  # type: ignore[attr-defined]
        if status != 0:
            raise GenerationError(f"protoc failed with status {status} (see its messages above)")
    produced = out_dir / VIRTUAL_DIR
    return {p.name: p.read_bytes() for p in sorted(produced.iterdir()) if p.name.endswith(GENERATED_SUFFIXES)}


def checked_in() -> dict[str, bytes]:
    """The generated files currently in the tree."""
    if not PB_DIR.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(PB_DIR.iterdir()) if p.name.endswith(GENERATED_SUFFIXES)}


def _protobuf_version(files: dict[str, bytes]) -> str | None:
    for name, content in files.items():
        if name.endswith(".py"):
            m = _VERSION_LINE.search(content.decode("utf-8", "replace"))
            if m:
                return m.group(1)
    return None


def compare(fresh: dict[str, bytes], current: dict[str, bytes]) -> list[str]:
    """Human-readable differences between freshly generated and checked-in files (empty = same)."""
    problems: list[str] = []
    for name in sorted(fresh.keys() - current.keys()):
        problems.append(f"missing from openim/wire/pb/: {name}")
    for name in sorted(current.keys() - fresh.keys()):
        problems.append(f"stale file in openim/wire/pb/ (no .proto produces it): {name}")
    for name in sorted(fresh.keys() & current.keys()):
        if fresh[name] != current[name]:
            diff = difflib.unified_diff(
                current[name].decode("utf-8", "replace").splitlines(),
                fresh[name].decode("utf-8", "replace").splitlines(),
                f"checked-in/{name}",
                f"regenerated/{name}",
                n=1,
                lineterm="",
            )
            # The serialized descriptor is one very long line; a prefix is enough to see what moved.
            shown = [line if len(line) <= 160 else line[:157] + "..." for line in list(diff)[:20]]
            problems.append(f"differs: {name}\n    " + "\n    ".join(shown))
    return problems


def check() -> int:
    """Regenerate into a temp dir and report whether the tree is current; returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="openim-proto-out-") as out_name:
        fresh = generate(Path(out_name))
    current = checked_in()
    problems = compare(fresh, current)
    if not problems:
        print(f"openim/wire/pb is current ({len(fresh)} files)")
        return 0
    print("openim/wire/pb does not match openim/wire/proto/:", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    have, want = _protobuf_version(fresh), _protobuf_version(current)
    if have and want and have != want:
        print(
            f"note: the checked-in code was generated for protobuf {want}, your grpcio-tools generates "
            f"for {have}; install the grpcio-tools that matches, or regenerate deliberately.",
            file=sys.stderr,
        )
    print("fix: run `python scripts/gen_proto.py` and commit the result.", file=sys.stderr)
    return 1


def write() -> int:
    """Regenerate and replace the generated files in the tree (hand-written files are kept)."""
    with tempfile.TemporaryDirectory(prefix="openim-proto-out-") as out_name:
        fresh = generate(Path(out_name))
    PB_DIR.mkdir(parents=True, exist_ok=True)
    for name in checked_in().keys() - fresh.keys():
        (PB_DIR / name).unlink()
    for name, content in fresh.items():
        (PB_DIR / name).write_bytes(content)
    print(f"wrote {len(fresh)} files to {PB_DIR.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the checked-in code is not current")
    args = parser.parse_args(argv)
    try:
        return check() if args.check else write()
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
