"""The Store port, uploads and offline push: stored objects, upload sessions and device tokens.

Conventions of openim.storage.port apply. The Store keeps only metadata: the bytes of an upload live in
the object backend (local disk or S3, openim.objects), addressed by ``ObjectRecord.key``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openim.storage.objects.records import DeviceTokenRecord, ObjectRecord, UploadRecord


class ObjectStore(Protocol):
    """Object names, upload sessions and device push tokens; see openim.storage.objects.records."""

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
