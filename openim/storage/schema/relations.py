"""Tables of friends, friend requests and blacklists (openim.storage.relations); the rules of
openim.storage.schema apply.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _flag, _int, _key, _ms, _text, metadata

friends = sa.Table(
    "friends",
    metadata,
    _key("owner_user_id"),
    _key("friend_user_id"),
    _text("remark"),
    _ms("create_time"),
    _int("add_source"),
    _text("operator_user_id"),
    _text("ex"),
    _flag("is_pinned"),
    # "every owner who has him as a friend" (profile changes bump those owners' friend logs).
    sa.Index(None, "friend_user_id"),
)

friend_requests = sa.Table(
    "friend_requests",
    metadata,
    _key("from_user_id"),
    _key("to_user_id"),
    _int("handle_result"),
    _text("req_msg"),
    _ms("create_time"),
    _text("handler_user_id"),
    _text("handle_msg"),
    _ms("handle_time"),
    _text("ex"),
    # Requests received by a user (get_friend_apply_list).
    sa.Index(None, "to_user_id", "create_time"),
)

blacks = sa.Table(
    "blacks",
    metadata,
    _key("owner_user_id"),
    _key("block_user_id"),
    _ms("create_time"),
    _int("add_source"),
    _text("operator_user_id"),
    _text("ex"),
)
