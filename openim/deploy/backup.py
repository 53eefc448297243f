"""`openim backup` and `openim restore` for the embedded store (one SQLite file).

A backup is a consistent copy taken while the server runs (openim.storage.sql.sqlite.online_backup): one
SQLite file, usable as it is. Restoring needs the server stopped; the current database is kept beside the
restored one (``openim.db.before-restore-<time>``) and the server migrates the restored file at its next start
when it is older than the binary. PostgreSQL deployments use pg_dump and point-in-time recovery instead
(docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from openim.config import Config


class BackupError(Exception):
    """Why a backup or restore did not happen; ``str()`` is one line for the operator."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    revision: str
    messages: int


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _require_embedded(config: Config, verb: str) -> Path:
    if config.storage.backend != "sqlite":
        tool = "pg_dump" if verb == "backup" else "pg_restore"
        raise BackupError(
            f"storage.backend is {config.storage.backend}: {verb} it with {tool} "
            "(docs/operations.md, 'Backup and restore')"
        )
    return config.sqlite_file.resolve()


def inspect(path: Path) -> BackupInfo:
    """Check that ``path`` is a sound openim database; its schema revision and message count."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open: {exc}") from exc
    try:
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(f"{path}: integrity check failed: {check}")
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0] if "messages" in tables else 0
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: not an openim database: {exc}") from exc
    finally:
        conn.close()
    return BackupInfo(path, path.stat().st_size, str(revision), int(messages))


def backup(config: Config, output: str | None) -> BackupInfo:
    """Write a consistent copy of the embedded store; ``output`` is a file, a directory, or None
    (``<data_dir>/backups/``). Works while the server runs."""
    from openim.storage.sql.sqlite import online_backup

    source = _require_embedded(config, "backup")
    if not source.is_file():
        raise BackupError(f"{source}: no database yet (has the server ever started with this config?)")
    name = f"openim-{_stamp()}.db"
    if output is None:
        target = config.data_path.resolve() / "backups" / name
    else:
        given = Path(output).expanduser()
        target = given / name if given.is_dir() or output.endswith("/") else given
    if target.exists():
        raise BackupError(f"{target}: exists; choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        online_backup(source, partial)
        os.chmod(partial, 0o600)  # the store holds tokens' owners and every message
        partial.replace(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    return inspect(target)


def _server_answers(config: Config) -> str:
    """The URL of a server of this config that answers /healthz on this host, or ''."""
    for host, port in ((config.api.host, config.api.port), (config.ops.host, config.ops.port)):
        address = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        url = f"http://{address}:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return url
        except OSError:
            continue
    return ""


def restore(config: Config, source: Path, *, check_running: bool = True) -> tuple[BackupInfo, Path | None]:
    """Replace the embedded store with the backup ``source``; returns it and where the old database went."""
    from openim.storage import migrate

    target = _require_embedded(config, "restore")
    info = inspect(source)
    known = set(migrate.pending_revisions(None))
    if info.revision not in known:
        raise BackupError(f"{source}: schema revision {info.revision} is unknown to this openim (a newer version?)")
    if check_running:
        url = _server_answers(config)
        if url:
            raise BackupError(
                f"a server answers at {url}: stop it first (systemctl stop openim, or openim supervise stop)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    kept: Path | None = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{_stamp()}")
        # The -wal and -shm files belong to the database they sit beside: they move with it.
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{target}{suffix}")
            if old.exists():
                old.replace(Path(f"{kept}{suffix}"))
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, partial)
    os.chmod(partial, 0o600)
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)
    return info, kept
