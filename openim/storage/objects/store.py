"""SqlStore's upload, device-token and client-log methods (a mixin over SqlBase).

Each method picks a reader or the writer for one body of openim.storage.objects.queries; written out are
only those that skip the database for empty inputs (openim.storage.sql.base).
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.storage.objects import queries as q
from openim.storage.objects.records import ClientLogRecord, DeviceTokenRecord
from openim.storage.sql.base import SqlBase, reads, writes


class SqlObjectStore(SqlBase):
    """Implements openim.storage.objects.port.ObjectStore for SqlStore."""

    # -- objects ------------------------------------------------------------------------------------
    put_object = writes(q.put_object)
    get_object = reads(q.get_object)
    find_object_by_hash = reads(q.find_object_by_hash)

    # -- upload sessions ----------------------------------------------------------------------------
    save_upload = writes(q.save_upload)
    get_upload = reads(q.get_upload)
    delete_upload = writes(q.delete_upload)
    expired_uploads = reads(q.expired_uploads)

    # -- device tokens ------------------------------------------------------------------------------
    set_device_token = writes(q.set_device_token)
    delete_device_token = writes(q.delete_device_token)

    async def delete_device_tokens_by_value(self, tokens: Sequence[str]) -> int:
        if not tokens:
            return 0
        return await self._write(lambda: q.delete_device_tokens_by_value(tokens))

    async def get_device_tokens(self, user_ids: Sequence[str]) -> list[DeviceTokenRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_device_tokens(user_ids))

    set_badge = writes(q.set_badge)

    # -- client logs --------------------------------------------------------------------------------
    async def insert_client_logs(self, logs: Sequence[ClientLogRecord]) -> None:
        if logs:
            await self._write(lambda: q.insert_client_logs(logs))

    async def get_client_logs(self, log_ids: Sequence[str]) -> list[ClientLogRecord]:
        if not log_ids:
            return []
        return await self._read(lambda: q.get_client_logs(log_ids))

    async def delete_client_logs(self, log_ids: Sequence[str]) -> list[str]:
        if not log_ids:
            return []
        return await self._write(lambda: q.delete_client_logs(log_ids))

    search_client_logs = reads(q.search_client_logs)
