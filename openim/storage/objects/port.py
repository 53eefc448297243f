"""The Store port, uploads and offline push: stored objects, upload sessions, device tokens and the
log files clients uploaded.

Conventions of openim.storage.port apply. The Store keeps only metadata: the bytes of an upload live in
the object backend (local disk or S3, openim.objects), addressed by ``ObjectRecord.key``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openim.storage.objects.records import ClientLogRecord, DeviceTokenRecord, ObjectRecord, UploadRecord


class ObjectStore(Protocol):
    """Object names, upload sessions, device push tokens and client logs; see openim.storage.objects.records."""

    # -- objects ------------------------------------------------------------------------------------
    async def put_object(self, obj: ObjectRecord) -> None:
        """Insert, or replace the record of the same name."""

    async def get_object(self, name: str) -> ObjectRecord | None: ...

    async def find_object_by_hash(self, content_hash: str) -> ObjectRecord | None:
        """Any (the oldest) object whose content has this hash: an upload of it can be skipped."""

    # -- upload sessions ----------------------------------------------------------------------------
    async def save_upload(self, upload: UploadRecord) -> None: ...

    async def get_upload(self, upload_id: str) -> UploadRecord | None: ...

    async def delete_upload(self, upload_id: str) -> bool:
        """False if it did not exist (completed or swept meanwhile)."""

    async def expired_uploads(self, now_ms: int, *, limit: int = 100) -> list[UploadRecord]:
        """Sessions whose expire_time has passed, oldest first."""

    # -- device tokens ------------------------------------------------------------------------------
    async def set_device_token(self, token: DeviceTokenRecord) -> None:
        """Insert or replace the (user, platform) token, keeping its badge."""

    async def delete_device_token(self, user_id: str, platform_id: int) -> bool: ...

    async def delete_device_tokens_by_value(self, tokens: Sequence[str]) -> int:
        """Delete every row holding one of these tokens; the number deleted."""

    async def get_device_tokens(self, user_ids: Sequence[str]) -> list[DeviceTokenRecord]:
        """Every token of the listed users, by user then platform."""

    async def set_badge(self, user_id: str, badge: int) -> int:
        """Set the badge on all of the user's tokens; the number of rows changed."""

    # -- client logs --------------------------------------------------------------------------------
    async def insert_client_logs(self, logs: Sequence[ClientLogRecord]) -> None:
        """Insert all of them or none: raises AlreadyExists when a log_id is taken (or repeated)."""

    async def get_client_logs(self, log_ids: Sequence[str]) -> list[ClientLogRecord]: ...

    async def delete_client_logs(self, log_ids: Sequence[str]) -> list[str]:
        """Delete all of them or none: the IDs that do not exist (then nothing is deleted), else []."""

    async def search_client_logs(
        self, *, keyword: str, start_time: int, end_time: int, offset: int, limit: int
    ) -> tuple[int, list[ClientLogRecord]]:
        """(total matching, one page newest first): created within [start_time, end_time] ms, and when
        ``keyword`` is set, whose user ID contains it (case-insensitive)."""
