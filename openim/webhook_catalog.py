"""Every OpenIM callback this server can fire: config key -> callbackCommand.

The config key is what operators write in ``webhooks.enable``; the command is the last segment of the URL
the receiver is called on and the ``callbackCommand`` field of the body, spelled exactly as OpenIM spells
them (including ``callbackBeforeAfterMsgCommand`` for revokes), so existing receivers work unchanged.
This module imports nothing of openim: the config validator reads it, and the dispatcher (openim.webhooks)
calls the receiver by it; it sits beside the config so that the config imports no package above it.
"""

from __future__ import annotations

from typing import Final

HOOKS: Final[dict[str, str]] = {
    # messages
    "beforeSendSingleMsg": "callbackBeforeSendSingleMsgCommand",
    "afterSendSingleMsg": "callbackAfterSendSingleMsgCommand",
    "beforeSendGroupMsg": "callbackBeforeSendGroupMsgCommand",
    "afterSendGroupMsg": "callbackAfterSendGroupMsgCommand",
    "afterMsgSaveDB": "callbackAfterMsgSaveDBCommand",
    "beforeMsgModify": "callbackBeforeMsgModifyCommand",
    "afterSingleMsgRead": "callbackAfterSingleMsgReadCommand",
    "afterGroupMsgRead": "callbackAfterGroupMsgReadCommand",
    "afterRevokeMsg": "callbackBeforeAfterMsgCommand",  # sic: OpenIM's spelling of the revoke command
    # conversations, when a conversation's first message is stored
    "beforeCreateSingleChatConversations": "callbackBeforeCreateSingleChatConversationsCommand",
    "afterCreateSingleChatConversations": "callbackAfterCreateSingleChatConversationsCommand",
    "beforeCreateGroupChatConversations": "callbackBeforeCreateGroupChatConversationsCommand",
    "afterCreateGroupChatConversations": "callbackAfterCreateGroupChatConversationsCommand",
    # users on the gateway
    "afterUserOnline": "callbackAfterUserOnlineCommand",
    "afterUserOffline": "callbackAfterUserOfflineCommand",
    "afterUserKickOff": "callbackAfterUserKickOffCommand",
    # users
    "beforeUpdateUserInfo": "callbackBeforeUpdateUserInfoCommand",
    "afterUpdateUserInfo": "callbackAfterUpdateUserInfoCommand",
    "beforeUpdateUserInfoEx": "callbackBeforeUpdateUserInfoExCommand",
    "afterUpdateUserInfoEx": "callbackAfterUpdateUserInfoExCommand",
    "beforeUserRegister": "callbackBeforeUserRegisterCommand",
    "afterUserRegister": "callbackAfterUserRegisterCommand",
    # pushes
    "beforeOfflinePush": "callbackBeforeOfflinePushCommand",
    "beforeOnlinePush": "callbackBeforeOnlinePushCommand",
    "beforeGroupOnlinePush": "callbackBeforeGroupOnlinePushCommand",
    # friends
    "beforeAddFriend": "callbackBeforeAddFriendCommand",
    "afterAddFriend": "callbackAfterAddFriendCommand",
    "beforeAddFriendAgree": "callbackBeforeAddFriendAgreeCommand",
    "afterAddFriendAgree": "callbackAfterAddFriendAgreeCommand",
    "afterDeleteFriend": "callbackAfterDeleteFriendCommand",
    "beforeSetFriendRemark": "callbackBeforeSetFriendRemarkCommand",
    "afterSetFriendRemark": "callbackAfterSetFriendRemarkCommand",
    "beforeAddBlack": "callbackBeforeAddBlackCommand",
    "afterRemoveBlack": "callbackAfterRemoveBlackCommand",
    "beforeImportFriends": "callbackBeforeImportFriendsCommand",
    "afterImportFriends": "callbackAfterImportFriendsCommand",
    # groups
    "beforeCreateGroup": "callbackBeforeCreateGroupCommand",
    "afterCreateGroup": "callbackAfterCreateGroupCommand",
    "beforeApplyJoinGroup": "callbackBeforeJoinGroupCommand",
    "afterJoinGroup": "callbackAfterJoinGroupCommand",
    "beforeInviteUserToGroup": "callbackBeforeInviteJoinGroupCommand",
    "afterQuitGroup": "callbackAfterQuitGroupCommand",
    "afterKickGroupMember": "callbackAfterKickGroupCommand",
    "afterDismissGroup": "callbackAfterDisMissGroupCommand",
    "afterTransferGroupOwner": "callbackAfterTransferGroupOwnerCommand",
    "beforeSetGroupInfo": "callbackBeforeSetGroupInfoCommand",
    "afterSetGroupInfo": "callbackAfterSetGroupInfoCommand",
    "beforeSetGroupInfoEx": "callbackBeforeSetGroupInfoExCommand",
    "afterSetGroupInfoEx": "callbackAfterSetGroupInfoExCommand",
    "beforeMemberJoinGroup": "callbackBeforeMembersJoinGroupCommand",
    "beforeSetGroupMemberInfo": "callbackBeforeSetGroupMemberInfoCommand",
    "afterSetGroupMemberInfo": "callbackAfterSetGroupMemberInfoCommand",
}

# After-callbacks of a stored message: OpenIM appends ``?key=`` to their URL (see ``message_key``), which
# a bot receiver hands back to /msg/send_simple_msg to answer in the same conversation.
KEYED_HOOKS: Final[frozenset[str]] = frozenset({"afterSendSingleMsg", "afterSendGroupMsg", "afterMsgSaveDB"})

# Hooks whose answer can stop (or change) the operation; all others are after-hooks: queued, retried,
# never waited for.
BEFORE_HOOKS: Final[frozenset[str]] = frozenset(name for name in HOOKS if name.startswith("before"))
