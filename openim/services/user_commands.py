"""Per-user command lists (/user/process_user_command_*): small named entries a user keeps on every
device -- favourites, pinned items, whatever the app gives a ``type`` number.

An entry is named by (type, uuid) within its user: adding a name that exists is refused (1003), updating
or deleting one that does not is 1004, so a client never overwrites or loses an entry it did not know
about. Every change is committed first, then announced to the user (1305 add, 1306 delete, 1307 update,
from and to the user, with the request's operationID), for his other devices to re-read the list
(/user/process_user_command_get_all). The announcement is best effort; the list on the server is the
truth a device reads.
"""

from __future__ import annotations

from typing import Final

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.services.field_limits import check_fields
from openim.services.notify import Notifier, tell
from openim.services.users import UserService
from openim.storage.commands.records import UserCommandPatch, UserCommandRecord
from openim.storage.port import AlreadyExists, Store
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.pb import sdkws_pb2

log = get_log("user_commands")

MAX_UUID_LEN: Final = 256


def _refuse_nul(name: str, text: str) -> None:
    # PostgreSQL cannot store U+0000 in text (SQLite can): refused on both backends alike, as bad input.
    if "\x00" in text:
        raise args_error(f"{name} must not contain U+0000")


def _check_name(uuid: str) -> None:
    if not uuid:
        raise args_error("uuid is empty")
    if len(uuid) > MAX_UUID_LEN:
        raise args_error(f"uuid is {len(uuid)} characters long, at most {MAX_UUID_LEN} allowed")
    _refuse_nul("uuid", uuid)


def _check_texts(value: str | None, ex: str | None) -> None:
    texts: dict[str, str] = {}
    if value is not None:
        texts["command_value"] = value
        _refuse_nul("value", value)
    if ex is not None:
        texts["ex"] = ex
        _refuse_nul("ex", ex)
    check_fields(texts)


class UserCommandService:
    def __init__(self, store: Store, users: UserService, notifier: Notifier) -> None:
        self._store = store
        self._users = users
        self._notifier = notifier

    async def add(self, user_id: str, type_: int, uuid: str, value: str, ex: str, *, operation_id: str) -> None:
        """Add an entry to an existing user's list; 1003 when (type, uuid) is taken already."""
        _check_name(uuid)
        _check_texts(value, ex)
        await self._users.get_one(user_id)
        try:
            await self._store.add_user_command(UserCommandRecord(user_id, type_, uuid, value, ex, now_ms()))
        except AlreadyExists as exc:
            raise OpenIMError(
                ErrCode.DUPLICATE_KEY, f"user {user_id} has a command of type {type_} and uuid {uuid!r} already"
            ) from exc
        await self._announce(ContentType.USER_COMMAND_ADD, sdkws_pb2.UserCommandAddTips, user_id, operation_id)

    async def update(
        self, user_id: str, type_: int, uuid: str, patch: UserCommandPatch, *, operation_id: str
    ) -> None:
        """Set what ``patch`` sets (nothing: only checks the entry exists); 1004 when there is no entry."""
        _check_name(uuid)
        _check_texts(patch.value, patch.ex)
        if not await self._store.update_user_command(user_id, type_, uuid, patch):
            raise _not_found(user_id, type_, uuid)
        if patch.changed():
            await self._announce(
                ContentType.USER_COMMAND_UPDATE, sdkws_pb2.UserCommandUpdateTips, user_id, operation_id
            )

    async def delete(self, user_id: str, type_: int, uuid: str, *, operation_id: str) -> None:
        """Remove an entry; 1004 when there is none."""
        _check_name(uuid)
        if not await self._store.delete_user_command(user_id, type_, uuid):
            raise _not_found(user_id, type_, uuid)
        await self._announce(ContentType.USER_COMMAND_DELETE, sdkws_pb2.UserCommandDeleteTips, user_id, operation_id)

    async def of_type(self, user_id: str, type_: int) -> list[UserCommandRecord]:
        """The user's entries of one type, oldest first."""
        return await self._store.get_user_commands(user_id, type_)

    async def all(self, user_id: str) -> list[UserCommandRecord]:
        """Every entry of the user, oldest first."""
        return await self._store.get_user_commands(user_id)

    async def _announce(self, content_type: int, tips_type: type[Message], user_id: str, operation_id: str) -> None:
        await tell(
            self._notifier,
            log,
            content_type=content_type,
            tips=tips_type(fromUserID=user_id, toUserID=user_id),
            send_id=user_id,
            recv_id=user_id,
            operation_id=operation_id,
        )


def _not_found(user_id: str, type_: int, uuid: str) -> OpenIMError:
    return OpenIMError(ErrCode.RECORD_NOT_FOUND, f"user {user_id} has no command of type {type_} and uuid {uuid!r}")
