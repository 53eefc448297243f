"""SqlStore's upload and device-token methods (a mixin over SqlStore._read/_write).

Each method is a thin wrapper that picks a reader or the writer for one body of
openim.storage._queries_objects, and skips the database for empty inputs.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from openim.storage import _queries_objects as q
from openim.storage._txn import T, TxnFactory
from openim.storage.object_records import DeviceTokenRecord, ObjectRecord, UploadRecord


class ObjectQueries(abc.ABC):
    """Implements openim.storage.port_objects.ObjectStore for SqlStore."""

    @abc.abstractmethod
    async def _read(self, body: TxnFactory[T]) -> T: ...

    @abc.abstractmethod
    async def _write(self, body: TxnFactory[T]) -> T: ...

    # -- objects ------------------------------------------------------------------------------------
    async def put_object(self, obj: ObjectRecord) -> None:
        await self._write(lambda: q.put_object(obj))

    async def get_object(self, name: str) -> ObjectRecord | None:
        return await self._read(lambda: q.get_object(name))

    async def find_object_by_hash(self, content_hash: str) -> ObjectRecord | None:
        return await self._read(lambda: q.find_object_by_hash(content_hash))

    # -- upload sessions ----------------------------------------------------------------------------
    async def save_upload(self, upload: UploadRecord) -> None:
        await self._write(lambda: q.save_upload(upload))

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        return await self._read(lambda: q.get_upload(upload_id))

    async def delete_upload(self, upload_id: str) -> bool:
        return await self._write(lambda: q.delete_upload(upload_id))

    async def expired_uploads(self, now_ms: int, *, limit: int = 100) -> list[UploadRecord]:
        return await self._read(lambda: q.expired_uploads(now_ms, limit))

    # -- device tokens ------------------------------------------------------------------------------
    async def set_device_token(self, token: DeviceTokenRecord) -> None:
        await self._write(lambda: q.set_device_token(token))

    async def delete_device_token(self, user_id: str, platform_id: int) -> bool:
        return await self._write(lambda: q.delete_device_token(user_id, platform_id))

    async def delete_device_tokens_by_value(self, tokens: Sequence[str]) -> int:
        if not tokens:
            return 0
        return await self._write(lambda: q.delete_device_tokens_by_value(tokens))

    async def get_device_tokens(self, user_ids: Sequence[str]) -> list[DeviceTokenRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_device_tokens(user_ids))

    async def set_badge(self, user_id: str, badge: int) -> int:
        return await self._write(lambda: q.set_badge(user_id, badge))
