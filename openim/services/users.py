"""Users: registration, profiles, lookup. The admin accounts of the config exist from the first start.

A profile change drops the send path's cached copy of the user (``SendService.forget_user``, the owner of
the ``users_by_id`` cache): global receive options take effect at once, in every process of a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openim.clock import now_ms
from openim.config import AuthConfig
from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.field_limits import FIELD_LIMITS, check_fields
from openim.services.user_callbacks import register_hook, users_from_answer
from openim.storage.messages.records import UserPatch, UserRecord
from openim.storage.port import AlreadyExists, Store
from openim.wire.errors import ErrCode, OpenIMError, args_error

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("users")

APP_ADMIN_LEVEL = 2
# OpenIM: letters, digits and underscore (Unicode letters included), never ':' (it separates cache keys).
_USER_ID_RE = re.compile(r"^[^\W]+$", re.UNICODE)
MAX_USER_ID_LEN = 64
MAX_NICKNAME_LEN = FIELD_LIMITS["nickname"].max_chars


def check_user_id(user_id: str) -> None:
    if not user_id:
        raise args_error("userID is empty")
    if len(user_id) > MAX_USER_ID_LEN:
        raise args_error(f"userID {user_id[:20]}... is longer than {MAX_USER_ID_LEN}")
    if not _USER_ID_RE.match(user_id):
        raise args_error(f"userID {user_id!r} may hold only letters, digits and underscore")


class UserService:
    def __init__(self, store: Store, auth: AuthConfig, send: SendService, webhooks: Webhooks | None = None) -> None:
        self._store = store
        self._auth = auth
        self._send = send  # holds the cached users this service drops when it changes one
        self._webhooks = webhooks  # before/afterUserRegister, None when no callback is enabled

    async def ensure_admins(self) -> None:
        """Register the configured admin accounts if missing (OpenIM does this at start)."""
        ids = list(self._auth.admin_user_ids)
        existing = {u.user_id for u in await self._store.get_users(ids)}
        names = list(self._auth.admin_nicknames)
        missing = [
            UserRecord(uid, names[i] if i < len(names) else uid, create_time=now_ms(),
                       app_manager_level=APP_ADMIN_LEVEL)
            for i, uid in enumerate(ids) if uid not in existing
        ]
        if missing:
            try:
                await self._store.insert_users(missing)
                log.info("admins.registered", user_ids=[u.user_id for u in missing])
            except AlreadyExists:
                pass  # another process registered them first

    async def register(self, users: Sequence[UserRecord], *, operation_id: str = "") -> None:
        """Register new users; beforeUserRegister may refuse them or answer with the users to register
        instead (checked like the request's), afterUserRegister hears of those registered."""
        await self._check_new(users)
        hooks = self._webhooks
        if hooks is not None and hooks.enabled("beforeUserRegister"):
            answer = await hooks.before("beforeUserRegister", register_hook(users), operation_id=operation_id)
            replaced = users_from_answer(answer.body if answer is not None else None)
            if replaced is not None:
                users = replaced
                await self._check_new(users)
        now = now_ms()
        records = [
            UserRecord(u.user_id, u.nickname, u.face_url, u.ex, now, u.app_manager_level, u.global_recv_msg_opt)
            for u in users
        ]
        try:
            await self._store.insert_users(records)
        except AlreadyExists as exc:
            raise OpenIMError(ErrCode.REGISTERED_ALREADY, str(exc)) from exc
        log.info("users.registered", count=len(records))
        if hooks is not None and hooks.enabled("afterUserRegister"):
            hooks.after("afterUserRegister", register_hook(records), operation_id=operation_id)

    async def _check_new(self, users: Sequence[UserRecord]) -> None:
        """Refuse a registration of malformed, repeated or existing users."""
        if not users:
            raise args_error("users is empty")
        seen: set[str] = set()
        for u in users:
            check_user_id(u.user_id)
            if not u.nickname:
                raise args_error(f"nickname of {u.user_id} is empty")
            check_fields({"nickname": u.nickname, "face_url": u.face_url, "ex": u.ex}, subject=f"user {u.user_id}: ")
            if u.user_id in seen:
                raise args_error(f"userID {u.user_id} repeated")
            if u.global_recv_msg_opt not in (0, 1, 2):
                raise args_error(f"globalRecvMsgOpt of {u.user_id} must be 0, 1 or 2")
            seen.add(u.user_id)
        existing = await self._store.get_users([u.user_id for u in users])
        if existing:
            raise OpenIMError(ErrCode.REGISTERED_ALREADY, f"userID {existing[0].user_id} registered already")

    async def get(self, user_ids: Sequence[str]) -> list[UserRecord]:
        return await self._store.get_users(list(dict.fromkeys(user_ids)))

    async def get_one(self, user_id: str) -> UserRecord:
        users = await self._store.get_users([user_id])
        if not users:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"user {user_id} not found")
        return users[0]

    async def exists(self, user_id: str) -> bool:
        return bool(await self._store.get_users([user_id]))

    async def update(self, user_id: str, patch: UserPatch) -> UserRecord:
        """Apply a profile change; return the updated record."""
        if patch.global_recv_msg_opt is not None and patch.global_recv_msg_opt not in (0, 1, 2):
            raise args_error("globalRecvMsgOpt must be 0, 1 or 2")
        changed = patch.changed()
        check_fields(changed)
        if changed:
            if not await self._store.update_user(user_id, patch):
                raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"user {user_id} not found")
            self._send.forget_user(user_id)
        return await self.get_one(user_id)

    async def page(self, *, offset: int, limit: int, keyword: str = "") -> tuple[int, list[UserRecord]]:
        """Ordinary users only (admins and notification accounts hidden), as OpenIM's get_users."""
        return await self._store.list_users(offset=offset, limit=limit, keyword=keyword, max_manager_level=1)

    async def id_page(self, *, offset: int, limit: int) -> tuple[int, list[str]]:
        """(total, one page of userIDs) of every account, admins and notification accounts included."""
        total, found = await self._store.list_users(offset=offset, limit=limit)
        return total, [u.user_id for u in found]
