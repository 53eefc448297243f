"""SqlStore's client configuration methods (a mixin over SqlBase; one body of
openim.storage.client_configs.queries each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from openim.storage.client_configs import queries as q
from openim.storage.sql.base import SqlBase, reads


class SqlClientConfigStore(SqlBase):
    """Implements openim.storage.client_configs.port.ClientConfigStore for SqlStore."""

    get_client_config = reads(q.get_client_config)
    page_client_config = reads(q.page_client_config)

    async def set_client_config(self, user_id: str, values: Mapping[str, str]) -> None:
        if values:
            await self._write(lambda: q.set_client_config(user_id, values))

    async def delete_client_config(self, user_id: str, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        return await self._write(lambda: q.delete_client_config(user_id, keys))
