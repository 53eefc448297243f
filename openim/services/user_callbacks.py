"""The bodies of OpenIM's user callbacks (its user/callback.go) and what their answers may change: before and
after a registration (the users), before and after a profile update (nickname, face URL, ex). Pure builders
and readers; UserService and ProfileService send them through their webhooks when those are enabled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openim.storage.messages.records import UserPatch, UserRecord
from openim.wire.errors import args_error

# The profile fields a before-update answer may replace: its JSON key -> the UserPatch attribute.
# OpenIM spells the nickname "nickName" in these callbacks (not "nickname" as in UserInfo).
PROFILE_KEYS: Mapping[str, str] = {"nickName": "nickname", "faceURL": "face_url", "ex": "ex"}


def user_info(u: UserRecord) -> dict[str, Any]:
    """A user as OpenIM's sdkws.UserInfo in JSON (every field present)."""
    return {
        "userID": u.user_id,
        "nickname": u.nickname,
        "faceURL": u.face_url,
        "ex": u.ex,
        "createTime": u.create_time,
        "appMangerLevel": u.app_manager_level,
        "globalRecvMsgOpt": u.global_recv_msg_opt,
    }


def register_hook(users: Sequence[UserRecord]) -> dict[str, Any]:
    """beforeUserRegister / afterUserRegister."""
    return {"users": [user_info(u) for u in users]}


def users_from_answer(answer: Mapping[str, Any] | None) -> list[UserRecord] | None:
    """The users a beforeUserRegister answer puts in place of the request's (OpenIM: a non-empty
    ``users`` replaces the whole list), or None when it leaves them alone."""
    listed = answer.get("users") if answer is not None else None
    if not listed:
        return None
    if not isinstance(listed, list) or not all(isinstance(u, dict) for u in listed):
        raise args_error("beforeUserRegister answered with users that are not a list of UserInfo")
    try:
        return [
            UserRecord(
                user_id=str(u.get("userID") or ""),
                nickname=str(u.get("nickname") or ""),
                face_url=str(u.get("faceURL") or ""),
                ex=str(u.get("ex") or ""),
                app_manager_level=int(u.get("appMangerLevel") or 0),
                global_recv_msg_opt=int(u.get("globalRecvMsgOpt") or 0),
            )
            for u in listed
        ]
    except (TypeError, ValueError) as exc:
        raise args_error(f"beforeUserRegister answered with a malformed user: {exc}") from exc


def profile_hook(user_id: str, patch: UserPatch, *, legacy: bool) -> dict[str, Any]:
    """before/afterUpdateUserInfo(Ex): the user and the profile fields the request sets. A field left
    alone is null in the Ex callbacks (the request's wrappers) and "" in the others (plain strings)."""
    fields = {key: getattr(patch, attr) for key, attr in PROFILE_KEYS.items()}
    if legacy:
        fields = {key: "" if value is None else value for key, value in fields.items()}
    return {"userID": user_id, **fields}


def profile_changes(answer: Mapping[str, Any] | None) -> dict[str, Any]:
    """The profile fields (UserPatch attributes) a before-update answer replaces: its non-null strings."""
    if answer is None:
        return {}
    return {attr: value for key, attr in PROFILE_KEYS.items() if isinstance(value := answer.get(key), str)}
