"""The Store port, client configuration: settings an operator hands to the apps (OpenIM's
/user/*_user_client_config). Conventions of openim.storage.port apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from openim.storage.client_configs.records import ClientConfigRecord


class ClientConfigStore(Protocol):
    """Key/value settings per scope (GLOBAL_SCOPE or one user id)."""

    async def get_client_config(self, user_id: str) -> dict[str, str]:
        """Every setting of the scope, key -> value (the scope's own only: no merging of the defaults)."""

    async def set_client_config(self, user_id: str, values: Mapping[str, str]) -> None:
        """Insert or replace these keys of the scope, in one transaction."""

    async def delete_client_config(self, user_id: str, keys: Sequence[str]) -> int:
        """Remove these keys of the scope; how many existed."""

    async def page_client_config(
        self, *, user_id: str | None, key: str, offset: int, limit: int
    ) -> tuple[int, list[ClientConfigRecord]]:
        """(total, one page) of settings of one scope (None = every scope) and, when ``key`` is not empty,
        of that key, ordered by scope then key."""
