"""Parity with OpenIM Server v3: every business route of OpenIM's router and every callback of its webhook
configuration is served here, or is named in docs/openim-parity.md with the reason it is not.

The lists below are OpenIM's route and callback names (facts of its API, from its router and its webhook
configuration; its Prometheus discovery and config-manager routes are left out: they administer OpenIM's
own deployment, not the IM service). A route or callback added to OpenIM goes here first: the test then
fails until it is served or documented as absent.
"""

from __future__ import annotations

from pathlib import Path

from openim.api import routes
from openim.api.framework import Router
from openim.webhook_catalog import HOOKS
from tests.integration.route_table import _Anything

PARITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "openim-parity.md"

OPENIM_ROUTES: dict[str, tuple[str, ...]] = {
    "user": ("user_register", "update_user_info", "update_user_info_ex", "set_global_msg_recv_opt",
        "get_users_info", "get_all_users_uid", "account_check", "get_users", "get_users_online_status",
        "get_users_online_token_detail", "subscribe_users_status", "get_users_status",
        "get_subscribe_users_status", "process_user_command_add", "process_user_command_delete",
        "process_user_command_update", "process_user_command_get", "process_user_command_get_all",
        "add_notification_account", "update_notification_account", "search_notification_account",
        "get_user_client_config", "set_user_client_config", "del_user_client_config", "page_user_client_config",),
    "friend": ("delete_friend", "get_friend_apply_list", "get_designated_friend_apply",
        "get_self_friend_apply_list", "get_friend_list", "get_designated_friends", "add_friend",
        "add_friend_response", "set_friend_remark", "add_black", "get_black_list", "get_specified_blacks",
        "remove_black", "get_incremental_blacks", "import_friend", "is_friend", "get_friend_id",
        "get_specified_friends_info", "update_friends", "get_incremental_friends", "get_full_friend_user_ids",
        "get_self_unhandled_apply_count",),
    "group": ("create_group", "set_group_info", "set_group_info_ex", "join_group", "quit_group",
        "group_application_response", "transfer_group", "get_recv_group_applicationList",
        "get_user_req_group_applicationList", "get_group_users_req_application_list",
        "get_specified_user_group_request_info", "get_groups_info", "kick_group", "get_group_members_info",
        "get_group_member_list", "invite_user_to_group", "get_joined_group_list", "dismiss_group",
        "mute_group_member", "cancel_mute_group_member", "mute_group", "cancel_mute_group",
        "set_group_member_info", "get_group_abstract_info", "get_groups", "get_group_member_user_id",
        "get_incremental_join_groups", "get_incremental_group_members", "get_incremental_group_members_batch",
        "get_full_group_member_user_ids", "get_full_join_group_ids", "get_group_application_unhandled_count",),
    "auth": ("get_admin_token", "get_user_token", "parse_token", "force_logout",),
    "third": ("prometheus", "fcm_update_token", "set_app_badge", "logs/upload", "logs/delete", "logs/search",),
    "object": ("part_limit", "part_size", "initiate_multipart_upload", "auth_sign", "complete_multipart_upload",
        "access_url", "initiate_form_data", "complete_form_data", "*name",),
    "msg": ("newest_seq", "search_msg", "send_msg", "send_business_notification", "pull_msg_by_seq", "revoke_msg",
        "mark_msgs_as_read", "mark_conversation_as_read", "get_conversations_has_read_and_max_seq",
        "set_conversation_has_read_seq", "clear_conversation_msg", "user_clear_all_msg", "delete_msgs",
        "delete_msg_phsical_by_seq", "delete_msg_physical", "batch_send_msg", "send_simple_msg",
        "check_msg_is_send_success", "get_server_time",),
    "conversation": ("get_sorted_conversation_list", "get_all_conversations", "get_conversation",
        "get_conversations", "set_conversations", "get_full_conversation_ids", "get_incremental_conversations",
        "get_owner_conversation", "get_not_notify_conversation_ids", "get_pinned_conversation_ids",
        "delete_conversations", "update_conversations_by_user",),
    "statistics": ("user/register", "user/active", "group/create", "group/active",),
    "jssdk": ("get_conversations", "get_active_conversations",),
}  # fmt: skip

OPENIM_CALLBACKS = frozenset({
    "afterAddFriend", "afterAddFriendAgree", "afterCreateGroup", "afterCreateGroupChatConversations",
    "afterCreateSingleChatConversations", "afterDeleteFriend", "afterDismissGroup", "afterGroupMsgRead",
    "afterGroupMsgRevoke", "afterImportFriends", "afterJoinGroup", "afterKickGroupMember", "afterMsgSaveDB",
    "afterQuitGroup", "afterRemoveBlack", "afterRevokeMsg", "afterSendGroupMsg", "afterSendSingleMsg",
    "afterSetFriendRemark", "afterSetGroupInfo", "afterSetGroupInfoEx", "afterSetGroupMemberInfo",
    "afterSingleMsgRead", "afterTransferGroupOwner", "afterUpdateUserInfo", "afterUpdateUserInfoEx",
    "afterUserKickOff", "afterUserOffline", "afterUserOnline", "afterUserRegister", "beforeAddBlack",
    "beforeAddFriend", "beforeAddFriendAgree", "beforeApplyJoinGroup", "beforeCreateGroup",
    "beforeCreateGroupChatConversations", "beforeCreateSingleChatConversations", "beforeGroupOnlinePush",
    "beforeImportFriends", "beforeInviteUserToGroup", "beforeMemberJoinGroup", "beforeMsgModify",
    "beforeOfflinePush", "beforeOnlinePush", "beforeSendGroupMsg", "beforeSendSingleMsg", "beforeSetFriendRemark",
    "beforeSetGroupInfo", "beforeSetGroupInfoEx", "beforeSetGroupMemberInfo", "beforeUpdateUserInfo",
    "beforeUpdateUserInfoEx", "beforeUserRegister",
})  # fmt: skip

# OpenIM callbacks not served here, each named in PARITY_DOC with the reason.
ABSENT_CALLBACKS = frozenset({"afterGroupMsgRevoke"})
# OpenIM writes its catch-all object route gin's way; ours is starlette's.
SAME_ROUTE = {"/object/*name": "/object/{name:path}"}
# Routes of ours that OpenIM's router does not have (named in PARITY_DOC too, but for the local
# object backend's own upload endpoints, which are URLs handed out by /object/* answers).
OURS_ONLY = frozenset({"/conversation/get_conversation_offline_push_user_ids"})
UPLOAD_ENDPOINTS = frozenset({"/object/.upload/{upload_id}", "/object/.form/{upload_id}"})


def _served() -> set[str]:
    router = Router(_Anything(), _Anything(), 1 << 20)  # type: ignore[arg-type]
    routes.register_all(router, _Anything(), _Anything())  # type: ignore[arg-type]
    return set(router.paths) | {getattr(r, "path", "") for r in router.starlette_routes()}


def _openim_routes() -> set[str]:
    paths = {f"/{area}/{name}" for area, names in OPENIM_ROUTES.items() for name in names}
    return {SAME_ROUTE.get(path, path) for path in paths}


def test_every_openim_route_is_served() -> None:
    assert _openim_routes() - _served() == set()


def test_routes_beyond_openims_are_known() -> None:
    assert _served() - _openim_routes() - UPLOAD_ENDPOINTS == set(OURS_ONLY)


def test_every_openim_callback_is_fired_or_documented_as_absent() -> None:
    assert OPENIM_CALLBACKS - set(HOOKS) == ABSENT_CALLBACKS
    assert set(HOOKS) - OPENIM_CALLBACKS == set(), "a callback OpenIM does not have"
    doc = PARITY_DOC.read_text()
    for name in ABSENT_CALLBACKS | OURS_ONLY:
        assert name in doc, f"docs/openim-parity.md should say why {name} differs"
