"""System accounts that send notifications (/user/add_notification_account, update_..., search_...).

A notification account is a user row with appMangerLevel 3 (a robot: 4). It never gets a user token
(SessionService refuses them), so it cannot log in or be impersonated through one; an admin sends in
its name (/msg/send_msg; an OA notification, 1400, must come from one). Only admins reach
these routes. Stricter than OpenIM, and said in docs/contacts.md: the level must be 3 or 4 (OpenIM
takes any number from 3 up), and the update route changes system accounts only (OpenIM would rename
any user).
"""

from __future__ import annotations

import secrets
from typing import Final

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.services.field_limits import check_fields
from openim.services.users import UserService, check_user_id
from openim.storage.messages.records import UserPatch, UserRecord
from openim.storage.port import AlreadyExists, Store
from openim.wire.errors import ErrCode, OpenIMError, args_error

log = get_log("notification_accounts")

APP_NOTIFICATION_LEVEL: Final = 3
APP_ROBOT_LEVEL: Final = 4
ACCOUNT_LEVELS: Final = (APP_NOTIFICATION_LEVEL, APP_ROBOT_LEVEL)
GENERATED_ID_DIGITS: Final = 10  # OpenIM's generated userIDs: 10 digits, the first not 0
GENERATE_ATTEMPTS: Final = 20


def generated_user_id() -> str:
    """A random userID in OpenIM's generated format."""
    first = str(1 + secrets.randbelow(9))
    return first + "".join(str(secrets.randbelow(10)) for _ in range(GENERATED_ID_DIGITS - 1))


class NotificationAccountService:
    def __init__(self, store: Store, users: UserService) -> None:
        self._store = store
        self._users = users

    async def add(self, user_id: str, nickname: str, face_url: str, level: int) -> UserRecord:
        """Register a system account; pick a free generated userID when ``user_id`` is empty.
        A userID that exists is refused with 1001, as OpenIM does."""
        if level not in ACCOUNT_LEVELS:
            raise args_error(
                f"appMangerLevel must be {APP_NOTIFICATION_LEVEL} (notification account) or {APP_ROBOT_LEVEL} (robot)"
            )
        check_fields({"nickname": nickname, "face_url": face_url})
        if user_id:
            check_user_id(user_id)
            if await self._users.exists(user_id):
                raise args_error(f"userID {user_id} is used")
        else:
            user_id = await self._free_user_id()
        record = UserRecord(user_id, nickname, face_url, create_time=now_ms(), app_manager_level=level)
        try:
            await self._store.insert_users([record])
        except AlreadyExists as exc:  # registered meanwhile by another request
            raise args_error(f"userID {user_id} is used") from exc
        log.info("notification_account.added", user_id=user_id, level=level)
        return record

    async def update(self, user_id: str, nickname: str, face_url: str) -> None:
        """Set the nickname and face URL that are not empty, on a system account (1001 otherwise)."""
        if not user_id:
            raise args_error("userID is empty")
        found = await self._users.get([user_id])
        if not found or found[0].app_manager_level < APP_NOTIFICATION_LEVEL:
            raise args_error(f"userID {user_id} is not a notification account")
        await self._users.update(user_id, UserPatch(nickname=nickname or None, face_url=face_url or None))

    async def search(
        self, keyword: str, level: int | None, *, offset: int, limit: int
    ) -> tuple[int, list[UserRecord]]:
        """(total, one page) of system accounts, oldest first: with a keyword, the one whose userID it is,
        else those whose nickname it is (both exact, as OpenIM); ``level`` keeps only that level."""
        if not keyword:
            return await self._page(level, offset, limit)
        total, found = await self._page(level, offset, limit, user_id=keyword)
        if total:
            return total, found
        return await self._page(level, offset, limit, nickname=keyword)

    async def _page(
        self, level: int | None, offset: int, limit: int, *, user_id: str = "", nickname: str = ""
    ) -> tuple[int, list[UserRecord]]:
        return await self._store.find_accounts(
            min_manager_level=APP_NOTIFICATION_LEVEL,
            manager_level=level,
            user_id=user_id,
            nickname=nickname,
            offset=offset,
            limit=limit,
        )

    async def _free_user_id(self) -> str:
        for _ in range(GENERATE_ATTEMPTS):
            candidate = generated_user_id()
            if not await self._users.exists(candidate):
                return candidate
        raise OpenIMError(ErrCode.SERVER_INTERNAL, "could not pick a free userID; give one")
