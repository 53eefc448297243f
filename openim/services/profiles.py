"""Profile changes as /user/update_user_info_ex, update_user_info and set_global_msg_recv_opt make them.

Each goes through UserService (which also drops the send path's cached copy of the user), then
announces 1303 UserInfoUpdated to the user's devices with the request's operationID. When a nickname
or face URL really changes, everyone who has the user as a friend gets an update entry in his friend
version log and 1209 FriendInfoUpdated (RelationService.profile_changed). Not done yet: 1516
GroupMemberInfoSet to every group where the member inherits the profile (the group milestone).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final

from openim.ops.logging import get_log
from openim.services.notify import Notifier, tell
from openim.services.relations import RelationService
from openim.services.user_callbacks import profile_changes, profile_hook
from openim.services.users import UserService
from openim.services.wrappers import wrapped_patch
from openim.storage.messages.records import UserPatch
from openim.wire.constants import ContentType
from openim.wire.errors import args_error, no_permission
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("profiles")

SHOWN_TO_FRIENDS: Final = ("nickname", "face_url")  # what a friend list shows of a user
RECV_OPTS: Final = (0, 1, 2)  # globalRecvMsgOpt: receive, don't receive, receive without notification
# update_user_info_ex's wrappers: which wire field sets which UserRecord attribute
_EX_FIELDS: Final = {
    "nickname": "nickname",
    "faceURL": "face_url",
    "ex": "ex",
    "globalRecvMsgOpt": "global_recv_msg_opt",
}


class ProfileService:
    def __init__(
        self, users: UserService, notifier: Notifier, relations: RelationService, webhooks: Webhooks | None = None
    ) -> None:
        self._users = users
        self._notifier = notifier
        self._relations = relations
        self._webhooks = webhooks  # before/afterUpdateUserInfo(Ex), None when no callback is enabled

    async def update_ex(self, info: sdkws_pb2.UserInfoWithEx, *, by: str, operation_id: str) -> None:
        """Absent or null wrappers leave a field unchanged; an empty nickname is refused.
        beforeUpdateUserInfoEx may refuse or replace the nickname, face URL or ex."""
        patch = wrapped_patch(UserPatch, info, _EX_FIELDS)
        patch = await self._before("beforeUpdateUserInfoEx", info.userID, patch, operation_id)
        if patch.nickname is not None and not patch.nickname:
            raise args_error("userInfo.nickname is empty")
        await self._apply(info.userID, patch, by=by, operation_id=operation_id)
        self._after("afterUpdateUserInfoEx", info.userID, patch, operation_id)

    async def update(self, info: sdkws_pb2.UserInfo, *, by: str, by_admin: bool, operation_id: str) -> None:
        """The deprecated twin: plain fields, where a zero value means "unchanged" (OpenIM's rule)."""
        level: int | None = None
        if info.appMangerLevel:
            # OpenIM lets anyone raise their own level here; level >= 2 skips friend and blacklist checks,
            # so only an admin may change it (sending one's current level back stays harmless).
            current = await self._users.get_one(info.userID)
            if info.appMangerLevel != current.app_manager_level:
                if not by_admin:
                    raise no_permission("only an app admin may change appMangerLevel")
                level = info.appMangerLevel
        patch = UserPatch(
            nickname=info.nickname or None,
            face_url=info.faceURL or None,
            ex=info.ex or None,
            app_manager_level=level,
            global_recv_msg_opt=info.globalRecvMsgOpt or None,
        )
        patch = await self._before("beforeUpdateUserInfo", info.userID, patch, operation_id)
        # An empty string from the callback means "unchanged" here too.
        patch = replace(patch, **{a: None for a in ("nickname", "face_url", "ex") if getattr(patch, a) == ""})
        await self._apply(info.userID, patch, by=by, operation_id=operation_id)
        self._after("afterUpdateUserInfo", info.userID, patch, operation_id)

    async def _before(self, hook: str, user_id: str, patch: UserPatch, operation_id: str) -> UserPatch:
        """Ask the before-update callback (when enabled): it may refuse (raises) or replace the profile
        fields of ``patch``."""
        hooks = self._webhooks
        if hooks is None or not hooks.enabled(hook):
            return patch
        body = profile_hook(user_id, patch, legacy=not hook.endswith("Ex"))
        answer = await hooks.before(hook, body, operation_id=operation_id)
        changes = profile_changes(answer.body if answer is not None else None)
        return replace(patch, **changes) if changes else patch

    def _after(self, hook: str, user_id: str, patch: UserPatch, operation_id: str) -> None:
        if self._webhooks is not None and self._webhooks.enabled(hook):
            body = profile_hook(user_id, patch, legacy=not hook.endswith("Ex"))
            self._webhooks.after(hook, body, operation_id=operation_id)

    async def set_global_recv_opt(self, user_id: str, opt: int, *, by: str, operation_id: str) -> None:
        """The user's global receive option (0, 1 or 2) for an existing user; announced with 1303."""
        if opt not in RECV_OPTS:
            raise args_error("globalRecvMsgOpt must be 0, 1 or 2")
        await self._users.get_one(user_id)
        await self._users.update(user_id, UserPatch(global_recv_msg_opt=opt))
        await self._announce(user_id, by=by, operation_id=operation_id)

    async def _apply(self, user_id: str, patch: UserPatch, *, by: str, operation_id: str) -> None:
        """Apply ``patch``, announce 1303, and tell the user's friends (1209) when the nickname or face
        URL, which their friend lists show, actually changed."""
        shown = any(k in patch.changed() for k in SHOWN_TO_FRIENDS)
        before = await self._users.get_one(user_id) if shown else None
        after = await self._users.update(user_id, patch)
        await self._announce(user_id, by=by, operation_id=operation_id)
        if before is not None and any(getattr(before, k) != getattr(after, k) for k in SHOWN_TO_FRIENDS):
            await self._relations.profile_changed(user_id, operation_id=operation_id)

    async def _announce(self, user_id: str, *, by: str, operation_id: str) -> None:
        """1303 from ``by`` (the user himself when empty) to the user. The change is committed already, so a
        failed push is logged, not returned (the SDK re-reads the profile at its next sync)."""
        await tell(
            self._notifier,
            log,
            content_type=ContentType.USER_INFO_UPDATED,
            tips=sdkws_pb2.UserInfoUpdatedTips(userID=user_id),
            send_id=by or user_id,
            recv_id=user_id,
            operation_id=operation_id,
        )
