"""The /friend/* route table: every path the SDK calls plus the admin-useful ones is registered, and only
import_friend needs an admin token. The permission matrix over HTTP
(tests/integration/test_rest_friend_permissions.py) covers exactly this list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from openim.api.framework import Auth, Router
from openim.api.routes import friend

SDK_PATHS = {
    "add_friend", "add_friend_response", "delete_friend", "is_friend", "get_friend_list",
    "get_designated_friends", "get_self_friend_apply_list", "get_friend_apply_list",
    "get_designated_friend_apply", "update_friends", "add_black", "remove_black", "get_black_list",
    "get_specified_blacks", "get_incremental_friends", "get_full_friend_user_ids", "get_self_unhandled_apply_count",
}  # fmt: skip
ADMIN_USEFUL = {"import_friend", "get_friend_id", "get_specified_friends_info", "set_friend_remark"}
OPENIM_UNUSED = {"get_incremental_blacks"}  # routed by OpenIM, called by no SDK yet


def test_friend_routes_and_their_auth() -> None:
    router = Router(tokens=None, metrics=None, max_body=1 << 20)  # type: ignore[arg-type]
    services: Any = SimpleNamespace(relations=None)
    friend.register(router, None, services)  # type: ignore[arg-type]
    assert set(router.paths) == {f"/friend/{p}" for p in SDK_PATHS | ADMIN_USEFUL | OPENIM_UNUSED}
    admin_only = {path for path, spec in router._specs.items() if spec.auth is Auth.ADMIN}
    assert admin_only == {"/friend/import_friend"}
    assert all(spec.auth is not Auth.NONE for spec in router._specs.values())
