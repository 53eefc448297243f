"""The log files clients upload for support (/third/logs/*, OpenIM's third service).

A client first uploads its log file through the object storage (/object/*), then records it here: one
record per file, stamped with the caller's user, platform name and time. Only app admins search and
delete them. Log IDs are OpenIM's: ten decimal digits, the first not 0, drawn at random; a batch whose
IDs collide with stored ones is retried with new IDs as a whole (the store inserts all or none).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.services.field_limits import check_fields
from openim.storage.objects.records import ClientLogRecord
from openim.storage.port import AlreadyExists, Store
from openim.wire.constants import Platform, is_valid_platform
from openim.wire.errors import ErrCode, OpenIMError, args_error

log = get_log("client_logs")

LOG_ID_DIGITS: Final = 10
ID_ATTEMPTS: Final = 20  # as OpenIM: 20 draws before giving up (never reached in practice: 9e9 IDs)
MAX_FILES: Final = 100  # files one upload call may record
MAX_URL_CHARS: Final = 2048
MAX_FILENAME_CHARS: Final = 1024
MAX_LABEL_CHARS: Final = 255  # appFramework, version, systemType
# OpenIM's search starts at 2019-01-01 UTC when the request gives neither start nor end.
SEARCH_EPOCH_MS: Final = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class LogFile:
    """One file of an upload call: its name and the URL the object storage gave for it."""

    filename: str
    url: str


def new_log_id() -> str:
    """Ten random decimal digits, the first 1-9 (OpenIM's format)."""
    first = str(1 + secrets.randbelow(9))
    return first + "".join(str(secrets.randbelow(10)) for _ in range(LOG_ID_DIGITS - 1))


def _check_label(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise args_error(f"{name} is {len(value)} characters long, at most {limit} allowed")


class ClientLogService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def upload(
        self,
        *,
        user_id: str,
        platform_id: int,
        files: Sequence[LogFile],
        app_framework: str,
        version: str,
        ex: str,
        system_type: str,
    ) -> list[str]:
        """Record the caller's files; their new log IDs, in order."""
        if not is_valid_platform(platform_id):
            raise args_error(f"platform {platform_id} is invalid")
        if not files:
            raise args_error("fileURLs is empty")
        if len(files) > MAX_FILES:
            raise args_error(f"at most {MAX_FILES} fileURLs per call, got {len(files)}")
        for i, f in enumerate(files):
            if not f.url:
                raise args_error(f"fileURLs[{i}].URL is empty")
            _check_label(f"fileURLs[{i}].URL", f.url, MAX_URL_CHARS)
            _check_label(f"fileURLs[{i}].filename", f.filename, MAX_FILENAME_CHARS)
        for name, value in (("appFramework", app_framework), ("version", version), ("systemType", system_type)):
            _check_label(name, value, MAX_LABEL_CHARS)
        check_fields({"ex": ex})
        platform = Platform(platform_id).wire_name
        now = now_ms()
        for _ in range(ID_ATTEMPTS):
            ids = [new_log_id() for _ in files]
            if len(set(ids)) != len(ids):
                continue
            records = [
                ClientLogRecord(
                    log_id=log_id,
                    user_id=user_id,
                    platform=platform,
                    url=f.url,
                    file_name=f.filename,
                    system_type=system_type,
                    app_framework=app_framework,
                    version=version,
                    ex=ex,
                    create_time=now,
                )
                for log_id, f in zip(ids, files, strict=True)
            ]
            try:
                await self._store.insert_client_logs(records)
            except AlreadyExists:
                continue  # an ID is taken: draw the whole batch again
            log.info("client_logs.uploaded", user_id=user_id, platform=platform, count=len(records))
            return ids
        raise OpenIMError(ErrCode.DATA, "log id gen error: no free log IDs after 20 draws")

    async def delete(self, log_ids: Sequence[str]) -> None:
        """Delete all of them, or none when any does not exist (1004, naming the missing ones)."""
        if not log_ids:
            raise args_error("logIDs is empty")
        missing = await self._store.delete_client_logs(list(log_ids))
        if missing:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"logIDs not found: {', '.join(missing)}")
        log.info("client_logs.deleted", count=len(set(log_ids)))

    async def search(
        self, *, keyword: str, start_time: int, end_time: int, offset: int, limit: int
    ) -> tuple[int, list[tuple[ClientLogRecord, str]]]:
        """(total, one page of (record, the uploader's current nickname)), newest first."""
        if start_time > end_time:
            raise args_error("startTime>endTime")
        if start_time == 0 and end_time == 0:
            start_time, end_time = SEARCH_EPOCH_MS, now_ms()
        total, records = await self._store.search_client_logs(
            keyword=keyword, start_time=start_time, end_time=end_time, offset=offset, limit=limit
        )
        users = await self._store.get_users(list({r.user_id for r in records}))
        nicknames = {u.user_id: u.nickname for u in users}
        return total, [(r, nicknames.get(r.user_id, "")) for r in records]
