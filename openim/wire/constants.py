"""Protocol numbers and naming rules shared by every module that touches OpenIM messages.

The numbers are OpenIM's (its constant and msgprocessor packages, and the SDKs' tables). Keeping
them here, as enums, means a typo fails at import instead of silently routing a message to the
wrong conversation. The conversation-ID functions are the one implementation of the rule that
decides which seq counter a message lands in, so the send path, the sync path and the REST layer
cannot disagree about it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, Protocol

# ---------------------------------------------------------------------------------------------
# WebSocket request identifiers
# ---------------------------------------------------------------------------------------------


class ReqIdentifier(enum.IntEnum):
    """The envelope's ``reqIdentifier``. Names follow the JS SDK, the meaning follows the Go server.

    Note the swapped-looking pair: 1002 is the *range* pull and 1005 the *explicit seq list* pull
    (the Go constants are named the other way round; the behaviour matches the SDK's names).
    """

    GET_NEWEST_SEQ = 1001  # sdkws.GetMaxSeqReq -> GetMaxSeqResp
    PULL_MSG_BY_RANGE = 1002  # sdkws.PullMessageBySeqsReq -> PullMessageBySeqsResp
    SEND_MSG = 1003  # bare sdkws.MsgData -> msg.SendMsgResp
    SEND_SIGNAL_MSG = 1004  # always answered with an error
    PULL_MSG_BY_SEQ_LIST = 1005  # msg.GetSeqMessageReq -> GetSeqMessageResp
    GET_CONV_MAX_READ_SEQ = 1006  # msg.GetConversationsHasReadAndMaxSeqReq -> ...Resp
    PULL_CONV_LAST_MESSAGE = 1007  # msg.GetLastMessageReq -> GetLastMessageResp
    PUSH_MSG = 2001  # server -> client, sdkws.PushMessages
    KICK_ONLINE_MSG = 2002  # server -> client, no data
    LOGOUT_MSG = 2003  # push.DelUserPushTokenReq -> DelUserPushTokenResp, then close
    SET_BACKGROUND_STATUS = 2004  # sdkws.SetAppBackgroundStatusReq -> no data
    SUB_USER_ONLINE_STATUS = 2005  # sdkws.SubUserOnlineStatus -> SubUserOnlineStatusTips (also pushed)
    SERVER_CONFIG_MSG = 2100  # JS-only, never sent
    DATA_ERROR = 3001  # defined, never sent


# The identifiers a client may send; anything else makes the Go server drop the connection.
CLIENT_REQUESTS: Final = frozenset(
    {
        ReqIdentifier.GET_NEWEST_SEQ,
        ReqIdentifier.PULL_MSG_BY_RANGE,
        ReqIdentifier.SEND_MSG,
        ReqIdentifier.SEND_SIGNAL_MSG,
        ReqIdentifier.PULL_MSG_BY_SEQ_LIST,
        ReqIdentifier.GET_CONV_MAX_READ_SEQ,
        ReqIdentifier.PULL_CONV_LAST_MESSAGE,
        ReqIdentifier.LOGOUT_MSG,
        ReqIdentifier.SET_BACKGROUND_STATUS,
        ReqIdentifier.SUB_USER_ONLINE_STATUS,
    }
)

# ---------------------------------------------------------------------------------------------
# Platforms
# ---------------------------------------------------------------------------------------------


class Platform(enum.IntEnum):
    """Client platform IDs; the handshake rejects anything outside 1..11."""

    IOS = 1
    ANDROID = 2
    WINDOWS = 3
    OSX = 4
    WEB = 5
    MINI_WEB = 6
    LINUX = 7
    APAD = 8
    IPAD = 9
    ADMIN = 10
    HARMONY_OS = 11

    @property
    def wire_name(self) -> str:
        """OpenIM's name for the platform, as used in token-status keys (``UID_PID_TOKEN_STATUS``)."""
        return _PLATFORM_NAMES[self]

    @property
    def platform_class(self) -> PlatformClass:
        return _PLATFORM_CLASSES[self]


class PlatformClass(enum.StrEnum):
    """Groups of platforms that the multi-login policies 4 and 5 treat as one terminal kind."""

    MOBILE = "Mobile"
    PC = "PC"
    WEB = "Web"
    MINI_WEB = "MiniWeb"
    PAD = "Pad"
    ADMIN = "Admin"
    HARMONY_OS = "HarmonyOS"


_PLATFORM_NAMES: Final[Mapping[Platform, str]] = {
    Platform.IOS: "IOS",
    Platform.ANDROID: "Android",
    Platform.WINDOWS: "Windows",
    Platform.OSX: "OSX",
    Platform.WEB: "Web",
    Platform.MINI_WEB: "MiniWeb",
    Platform.LINUX: "Linux",
    Platform.APAD: "APad",
    Platform.IPAD: "IPad",
    Platform.ADMIN: "Admin",
    Platform.HARMONY_OS: "HarmonyOS",
}

_PLATFORM_CLASSES: Final[Mapping[Platform, PlatformClass]] = {
    Platform.IOS: PlatformClass.MOBILE,
    Platform.ANDROID: PlatformClass.MOBILE,
    Platform.WINDOWS: PlatformClass.PC,
    Platform.OSX: PlatformClass.PC,
    Platform.WEB: PlatformClass.WEB,
    Platform.MINI_WEB: PlatformClass.MINI_WEB,
    Platform.LINUX: PlatformClass.PC,
    Platform.APAD: PlatformClass.PAD,
    Platform.IPAD: PlatformClass.PAD,
    Platform.ADMIN: PlatformClass.ADMIN,
    Platform.HARMONY_OS: PlatformClass.HARMONY_OS,
}

_PLATFORM_BY_NAME: Final[Mapping[str, Platform]] = {name: p for p, name in _PLATFORM_NAMES.items()}


def is_valid_platform(platform_id: int) -> bool:
    """True for the IDs the gateway and the token service accept (1..11)."""
    return platform_id in _PLATFORM_NAMES


def platform_name(platform_id: int) -> str:
    """OpenIM's name for a platform ID; raises ValueError for an unknown ID."""
    return Platform(platform_id).wire_name


def platform_by_name(name: str) -> Platform:
    """Inverse of :func:`platform_name` (exact spelling); raises KeyError for an unknown name."""
    return _PLATFORM_BY_NAME[name]


def platform_class(platform_id: int) -> PlatformClass:
    """The terminal class of a platform ID; raises ValueError for an unknown ID."""
    return Platform(platform_id).platform_class


# ---------------------------------------------------------------------------------------------
# Message classification
# ---------------------------------------------------------------------------------------------


class SessionType(enum.IntEnum):
    SINGLE = 1
    WRITE_GROUP = 2  # disabled in OpenIM v3; kept so the number is never reused by accident
    READ_GROUP = 3  # "group" everywhere in the SDK
    NOTIFICATION = 4


class MsgFrom(enum.IntEnum):
    USER = 100
    SYSTEM = 200


class MsgStatus(enum.IntEnum):
    SENDING = 1
    SUCCESS = 2  # what the server stores and pushes
    FAILED = 3
    DELETED = 4  # also the placeholder for a seq with no message
    FILTERED = 5


class ContentType(enum.IntEnum):
    """``MsgData.contentType``. User types are < 1000; notifications are 1000..5000."""

    # user content (content = JSON of the element)
    TEXT = 101
    PICTURE = 102
    VOICE = 103
    VIDEO = 104
    FILE = 105
    AT_TEXT = 106
    MERGER = 107
    CARD = 108
    LOCATION = 109
    CUSTOM = 110
    REVOKE = 111  # legacy, server only
    TYPING = 113  # never stored, never echoed to the sender
    QUOTE = 114
    FACE = 115
    ADVANCED_TEXT = 117
    MARKDOWN_TEXT = 118
    CUSTOM_NOT_TRIGGER_CONVERSATION = 119
    CUSTOM_ONLINE_ONLY = 120
    REACTION_MESSAGE_MODIFIER = 121
    REACTION_MESSAGE_DELETER = 122
    COMMON = 200
    GROUP_MSG = 201
    SIGNAL_MSG = 202
    CUSTOM_NOTIFICATION = 203

    # notifications (content = JSON of NotificationElem whose detail is the tips JSON)
    FRIEND_APPLICATION_APPROVED = 1201
    FRIEND_APPLICATION_REJECTED = 1202
    FRIEND_APPLICATION = 1203
    FRIEND_ADDED = 1204
    FRIEND_DELETED = 1205
    FRIEND_REMARK_SET = 1206
    BLACK_ADDED = 1207
    BLACK_DELETED = 1208
    FRIEND_INFO_UPDATED = 1209
    FRIENDS_INFO_UPDATE = 1210
    CONVERSATION_CHANGE = 1300
    USER_INFO_UPDATED = 1303
    USER_STATUS_CHANGE = 1304
    USER_COMMAND_ADD = 1305
    USER_COMMAND_DELETE = 1306
    USER_COMMAND_UPDATE = 1307
    USER_SUBSCRIBE_ONLINE_STATUS = 1308
    OA_NOTIFICATION = 1400
    GROUP_CREATED = 1501
    GROUP_INFO_SET = 1502
    JOIN_GROUP_APPLICATION = 1503
    MEMBER_QUIT = 1504
    GROUP_APPLICATION_ACCEPTED = 1505
    GROUP_APPLICATION_REJECTED = 1506
    GROUP_OWNER_TRANSFERRED = 1507
    MEMBER_KICKED = 1508
    MEMBER_INVITED = 1509
    MEMBER_ENTER = 1510
    GROUP_DISMISSED = 1511
    GROUP_MEMBER_MUTED = 1512
    GROUP_MEMBER_CANCEL_MUTED = 1513
    GROUP_MUTED = 1514
    GROUP_CANCEL_MUTED = 1515
    GROUP_MEMBER_INFO_SET = 1516
    GROUP_MEMBER_SET_TO_ADMIN = 1517
    GROUP_MEMBER_SET_TO_ORDINARY_USER = 1518
    GROUP_INFO_SET_ANNOUNCEMENT = 1519
    GROUP_INFO_SET_NAME = 1520
    SUPER_GROUP_UPDATE = 1651
    MSG_DELETE = 1652
    CONVERSATION_PRIVATE_CHAT = 1701
    CONVERSATION_UNREAD = 1702
    CLEAR_CONVERSATION = 1703
    CONVERSATION_DELETE = 1704
    BUSINESS_NOTIFICATION = 2001
    MSG_REVOKE_NOTIFICATION = 2101
    DELETE_MSGS_NOTIFICATION = 2102
    HAS_READ_RECEIPT = 2200


NOTIFICATION_BEGIN: Final = 1000
NOTIFICATION_END: Final = 5000

# MsgData.atUserIDList entry meaning "everyone in the group".
AT_ALL_TAG: Final = "AtAllTag"


def is_notification_content(content_type: int) -> bool:
    """True for notification content types: only the server and app admins may send them
    (openim.pipeline.send_content)."""
    return NOTIFICATION_BEGIN <= content_type <= NOTIFICATION_END


# ---------------------------------------------------------------------------------------------
# MsgData.options
# ---------------------------------------------------------------------------------------------


class Option(enum.StrEnum):
    """Keys of ``MsgData.options``. An absent key counts as TRUE; only an explicit false disables."""

    HISTORY = "history"  # store it (allocate a seq); false = online push only, seq 0
    PERSISTENT = "persistent"
    OFFLINE_PUSH = "offlinePush"
    UNREAD_COUNT = "unreadCount"
    CONVERSATION_UPDATE = "conversationUpdate"
    SENDER_SYNC = "senderSync"  # single/notification chat: also push to the sender's devices
    NOT_PRIVATE = "notPrivate"
    SENDER_CONVERSATION_UPDATE = "senderConversationUpdate"
    SENDER_NOTIFICATION_PUSH = "senderNotificationPush"
    REACTION_FROM_CACHE = "reactionFromCache"
    IS_NOT_NOTIFICATION = "isNotNotification"  # false = route to the n_ notification conversation
    IS_SEND_MSG = "isSendMsg"  # notification also stored as a chat-message copy


# The eight keys the JS SDK turns off for an "online only" message.
ONLINE_ONLY_OFF: Final = (
    Option.HISTORY,
    Option.PERSISTENT,
    Option.UNREAD_COUNT,
    Option.CONVERSATION_UPDATE,
    Option.OFFLINE_PUSH,
    Option.SENDER_SYNC,
    Option.NOT_PRIVATE,
    Option.SENDER_CONVERSATION_UPDATE,
)


def option_on(options: Mapping[str, bool], key: str) -> bool:
    """Whether an option is enabled, with OpenIM's rule that a missing key means enabled.

    Works on a plain dict and on a protobuf ``map<string,bool>`` (``MsgData.options``); the key is
    looked up as a plain ``str`` so :class:`Option` members and literals behave the same.
    """
    k = str(key)
    return options.get(k, True)


# ---------------------------------------------------------------------------------------------
# Conversation IDs
# ---------------------------------------------------------------------------------------------

SINGLE_PREFIX: Final = "si_"
GROUP_PREFIX: Final = "sg_"
WRITE_GROUP_PREFIX: Final = "g_"
NOTIFICATION_CHAT_PREFIX: Final = "sn_"
NOTIFICATION_PREFIX: Final = "n_"


def _sorted_pair(a: str, b: str) -> str:
    # Python compares str by code point; Go compares bytes. Both give the same order for ASCII IDs
    # and for any UTF-8 (code-point order equals UTF-8 byte order), so IDs always agree with Go.
    return f"{a}_{b}" if a <= b else f"{b}_{a}"


def single_conversation_id(user_a: str, user_b: str) -> str:
    """``si_<lower>_<higher>``: one chat conversation per pair, whoever sends."""
    return SINGLE_PREFIX + _sorted_pair(user_a, user_b)


def group_conversation_id(group_id: str) -> str:
    """``sg_<groupID>``."""
    return GROUP_PREFIX + group_id


def notification_chat_conversation_id(user_a: str, user_b: str) -> str:
    """``sn_<lower>_<higher>`` (sessionType 4). The Go server sorts; the JS SDK does not (known quirk)."""
    return NOTIFICATION_CHAT_PREFIX + _sorted_pair(user_a, user_b)


def notification_conversation_id(conversation_id: str) -> str:
    """The ``n_`` twin of a conversation: ``si_a_b``/``sn_a_b`` -> ``n_a_b``, ``sg_g``/``g_g`` -> ``n_g``.

    Like OpenIM, only the prefix before the first underscore is replaced, so user IDs that contain
    underscores survive. An ``n_`` ID is its own twin; an ID without an underscore is returned as is.
    """
    _prefix, sep, rest = conversation_id.partition("_")
    if not sep:
        return conversation_id
    return NOTIFICATION_PREFIX + rest


def self_notification_conversation_id(user_id: str) -> str:
    """``n_<uid>_<uid>``: where a user's own notifications land (read marks, deletes, ...)."""
    return f"{NOTIFICATION_PREFIX}{user_id}_{user_id}"


class _MsgRouting(Protocol):
    """The MsgData fields the routing rule reads (a real sdkws.MsgData satisfies it)."""

    sendID: str
    recvID: str
    groupID: str
    sessionType: int

    @property
    def options(self) -> Mapping[str, bool]: ...


def conversation_id_for_msg(msg: _MsgRouting) -> str:
    """The conversation (and so the seq counter) a message belongs to.

    ``options["isNotNotification"]`` missing or true -> the chat conversation (si_/sg_/g_/sn_);
    explicit false (server notifications) -> the ``n_`` twin. Returns "" for an unknown sessionType,
    as OpenIM does; the send path has already refused those with 1001.
    """
    st = msg.sessionType
    chat = option_on(msg.options, Option.IS_NOT_NOTIFICATION)
    if st == SessionType.SINGLE:
        return (SINGLE_PREFIX if chat else NOTIFICATION_PREFIX) + _sorted_pair(msg.sendID, msg.recvID)
    if st == SessionType.READ_GROUP:
        return (GROUP_PREFIX if chat else NOTIFICATION_PREFIX) + msg.groupID
    if st == SessionType.WRITE_GROUP:
        return (WRITE_GROUP_PREFIX if chat else NOTIFICATION_PREFIX) + msg.groupID
    if st == SessionType.NOTIFICATION:
        prefix = NOTIFICATION_CHAT_PREFIX if chat else NOTIFICATION_PREFIX
        return prefix + _sorted_pair(msg.sendID, msg.recvID)
    return ""


def is_notification_conversation(conversation_id: str) -> bool:
    """True for ``n_`` streams; pulls of these go to ``notificationMsgs`` instead of ``msgs``."""
    return conversation_id.startswith(NOTIFICATION_PREFIX)


_PREFIX_TYPES: Final = (
    (SINGLE_PREFIX, SessionType.SINGLE),
    (GROUP_PREFIX, SessionType.READ_GROUP),
    (NOTIFICATION_CHAT_PREFIX, SessionType.NOTIFICATION),
    (WRITE_GROUP_PREFIX, SessionType.WRITE_GROUP),
)


def conversation_type_of(conversation_id: str) -> SessionType | None:
    """The session type a chat conversation ID encodes, or None for ``n_`` streams and unknown IDs.

    ``n_`` IDs are ambiguous on purpose (``n_a_b`` and ``n_<groupID>`` look alike), so callers
    that need to know must keep the chat conversation ID they started from.
    """
    for prefix, session_type in _PREFIX_TYPES:
        if conversation_id.startswith(prefix):
            return session_type
    return None
