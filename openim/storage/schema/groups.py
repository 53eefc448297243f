"""Tables of groups, their members and join requests (openim.storage.groups); the rules of
openim.storage.schema apply.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _int, _key, _ms, _text, metadata

groups = sa.Table(
    "groups",
    metadata,
    _key("group_id"),
    _text("group_name"),
    _text("notification"),
    _text("introduction"),
    _text("face_url"),
    _text("owner_user_id"),
    _ms("create_time"),
    _text("ex"),
    _int("status"),
    _text("creator_user_id"),
    _int("group_type"),
    _int("need_verification"),
    _int("look_member_info"),
    _int("apply_member_friend"),
    _ms("notification_update_time"),
    _text("notification_user_id"),
)

group_members = sa.Table(
    "group_members",
    metadata,
    _key("group_id"),
    _key("user_id"),
    _int("role_level"),
    _ms("join_time"),
    _text("nickname"),
    _text("face_url"),
    _int("join_source"),
    _text("operator_user_id"),
    _text("ex"),
    _ms("mute_end_time"),
    _text("inviter_user_id"),
    # Joined groups of a user; member lists are read in (role_level desc, join_time) order per group.
    sa.Index(None, "user_id"),
    sa.Index(None, "group_id", "role_level", "join_time"),
)

group_requests = sa.Table(
    "group_requests",
    metadata,
    _key("group_id"),
    _key("user_id"),
    _int("handle_result"),
    _text("req_msg"),
    _text("handle_msg"),
    _ms("req_time"),
    _text("handle_user_id"),
    _ms("handle_time"),
    _int("join_source"),
    _text("inviter_user_id"),
    _text("ex"),
    # Applications made by a user (get_user_req_group_applicationList).
    sa.Index(None, "user_id"),
)
