"""Client configuration: key/value settings an operator hands to the apps (OpenIM's
/user/{get,set,del,page}_user_client_config).

Two scopes: the defaults (user id "") every user gets, and one user's own settings, which win over the
defaults key by key when a user reads his configuration. Reading is for the user himself (or an admin);
writing, deleting and paging through every scope are for app admins (the routes check that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from openim.services.users import UserService
from openim.services.versioning import page_window
from openim.storage.client_configs.records import GLOBAL_SCOPE, ClientConfigRecord
from openim.storage.port import Store
from openim.wire.errors import args_error
from openim.wire.pb import sdkws_pb2

MAX_KEYS: Final = 1000  # keys per set/del request
MAX_KEY_LEN: Final = 256
MAX_VALUE_LEN: Final = 64 * 1024


class ClientConfigService:
    def __init__(self, store: Store, users: UserService) -> None:
        self._store = store
        self._users = users

    async def effective(self, user_id: str) -> dict[str, str]:
        """What the apps of ``user_id`` should use: the defaults overlaid with the user's own settings;
        only the defaults for GLOBAL_SCOPE. 1004 for a user that does not exist."""
        merged = await self._store.get_client_config(GLOBAL_SCOPE)
        if user_id != GLOBAL_SCOPE:
            await self._users.get_one(user_id)
            merged.update(await self._store.get_client_config(user_id))
        return merged

    async def set(self, user_id: str, values: Mapping[str, str]) -> None:
        """Insert or replace these keys of the scope (the defaults, or an existing user's own)."""
        if not values:
            raise args_error("configs is empty")
        if len(values) > MAX_KEYS:
            raise args_error(f"configs: at most {MAX_KEYS} keys per request")
        for key, value in values.items():
            _check_key(key)
            if len(value) > MAX_VALUE_LEN:
                raise args_error(f"configs[{key}]: the value is longer than {MAX_VALUE_LEN} characters")
        if user_id != GLOBAL_SCOPE:
            await self._users.get_one(user_id)
        await self._store.set_client_config(user_id, values)

    async def delete(self, user_id: str, keys: Sequence[str]) -> None:
        """Remove these keys of the scope; keys it does not hold are ignored (as OpenIM)."""
        if not keys:
            raise args_error("keys is empty")
        if len(keys) > MAX_KEYS:
            raise args_error(f"keys: at most {MAX_KEYS} per request")
        for key in keys:
            _check_key(key)
        await self._store.delete_client_config(user_id, keys)

    async def page(
        self, user_id: str, key: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[ClientConfigRecord]]:
        """Settings of every scope (``user_id`` empty: the defaults and every user's) or of one user,
        optionally of one key, ordered by scope then key."""
        offset, limit = page_window(pagination)
        return await self._store.page_client_config(
            user_id=user_id or None, key=key, offset=offset, limit=limit
        )


def _check_key(key: str) -> None:
    if not key:
        raise args_error("a config key is empty")
    if len(key) > MAX_KEY_LEN:
        raise args_error(f"config key {key[:32]!r}... is longer than {MAX_KEY_LEN} characters")
