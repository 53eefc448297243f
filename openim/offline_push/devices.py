"""Device push tokens: what /third/fcm_update_token registers, WS 2003 (logout) forgets, and the offline
push looks up per batch of recipients."""

from __future__ import annotations

from collections.abc import Sequence

from openim.clock import now_ms
from openim.services.field_limits import check_fields
from openim.storage.objects.records import DeviceTokenRecord
from openim.storage.port import Store


class DeviceRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def register(self, user_id: str, platform_id: int, token: str, *, expire_time: int = 0) -> None:
        """One token per (user, platform): a new one replaces the old, as the SDK re-registers on start."""
        check_fields({"device_token": token})
        await self._store.set_device_token(DeviceTokenRecord(user_id, platform_id, token, expire_time, now_ms()))

    async def forget(self, user_id: str, platform_id: int) -> None:
        """The device logged out: it must not get pushes for this user any more."""
        await self._store.delete_device_token(user_id, platform_id)

    async def forget_tokens(self, tokens: Sequence[str]) -> int:
        """Tokens a provider said are dead (app uninstalled, token rotated)."""
        return await self._store.delete_device_tokens_by_value(tokens)

    async def set_badge(self, user_id: str, badge: int) -> None:
        await self._store.set_badge(user_id, badge)

    async def tokens_of(self, user_ids: Sequence[str]) -> list[DeviceTokenRecord]:
        """Live tokens of these users (expired ones skipped), by user then platform."""
        now = now_ms()
        return [t for t in await self._store.get_device_tokens(user_ids) if not t.expire_time or t.expire_time > now]
