from openim.wire.pb import wrapperspb_pb2 as _wrapperspb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PullOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PullOrderAsc: _ClassVar[PullOrder]
    PullOrderDesc: _ClassVar[PullOrder]
PullOrderAsc: PullOrder
PullOrderDesc: PullOrder

class GroupInfo(_message.Message):
    __slots__ = ("groupID", "groupName", "notification", "introduction", "faceURL", "ownerUserID", "createTime", "memberCount", "ex", "status", "creatorUserID", "groupType", "needVerification", "lookMemberInfo", "applyMemberFriend", "notificationUpdateTime", "notificationUserID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    MEMBERCOUNT_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATORUSERID_FIELD_NUMBER: _ClassVar[int]
    GROUPTYPE_FIELD_NUMBER: _ClassVar[int]
    NEEDVERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOKMEMBERINFO_FIELD_NUMBER: _ClassVar[int]
    APPLYMEMBERFRIEND_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONUPDATETIME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONUSERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    groupName: str
    notification: str
    introduction: str
    faceURL: str
    ownerUserID: str
    createTime: int
    memberCount: int
    ex: str
    status: int
    creatorUserID: str
    groupType: int
    needVerification: int
    lookMemberInfo: int
    applyMemberFriend: int
    notificationUpdateTime: int
    notificationUserID: str
    def __init__(self, groupID: _Optional[str] = ..., groupName: _Optional[str] = ..., notification: _Optional[str] = ..., introduction: _Optional[str] = ..., faceURL: _Optional[str] = ..., ownerUserID: _Optional[str] = ..., createTime: _Optional[int] = ..., memberCount: _Optional[int] = ..., ex: _Optional[str] = ..., status: _Optional[int] = ..., creatorUserID: _Optional[str] = ..., groupType: _Optional[int] = ..., needVerification: _Optional[int] = ..., lookMemberInfo: _Optional[int] = ..., applyMemberFriend: _Optional[int] = ..., notificationUpdateTime: _Optional[int] = ..., notificationUserID: _Optional[str] = ...) -> None: ...

class GroupInfoForSet(_message.Message):
    __slots__ = ("groupID", "groupName", "notification", "introduction", "faceURL", "ex", "needVerification", "lookMemberInfo", "applyMemberFriend")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    NEEDVERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOKMEMBERINFO_FIELD_NUMBER: _ClassVar[int]
    APPLYMEMBERFRIEND_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    groupName: str
    notification: str
    introduction: str
    faceURL: str
    ex: _wrapperspb_pb2.StringValue
    needVerification: _wrapperspb_pb2.Int32Value
    lookMemberInfo: _wrapperspb_pb2.Int32Value
    applyMemberFriend: _wrapperspb_pb2.Int32Value
    def __init__(self, groupID: _Optional[str] = ..., groupName: _Optional[str] = ..., notification: _Optional[str] = ..., introduction: _Optional[str] = ..., faceURL: _Optional[str] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., needVerification: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., lookMemberInfo: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., applyMemberFriend: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ...) -> None: ...

class GroupMemberFullInfo(_message.Message):
    __slots__ = ("groupID", "userID", "roleLevel", "joinTime", "nickname", "faceURL", "appMangerLevel", "joinSource", "operatorUserID", "ex", "muteEndTime", "inviterUserID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    ROLELEVEL_FIELD_NUMBER: _ClassVar[int]
    JOINTIME_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    APPMANGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    JOINSOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATORUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    MUTEENDTIME_FIELD_NUMBER: _ClassVar[int]
    INVITERUSERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    roleLevel: int
    joinTime: int
    nickname: str
    faceURL: str
    appMangerLevel: int
    joinSource: int
    operatorUserID: str
    ex: str
    muteEndTime: int
    inviterUserID: str
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ..., roleLevel: _Optional[int] = ..., joinTime: _Optional[int] = ..., nickname: _Optional[str] = ..., faceURL: _Optional[str] = ..., appMangerLevel: _Optional[int] = ..., joinSource: _Optional[int] = ..., operatorUserID: _Optional[str] = ..., ex: _Optional[str] = ..., muteEndTime: _Optional[int] = ..., inviterUserID: _Optional[str] = ...) -> None: ...

class PublicUserInfo(_message.Message):
    __slots__ = ("userID", "nickname", "faceURL", "ex")
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    userID: str
    nickname: str
    faceURL: str
    ex: str
    def __init__(self, userID: _Optional[str] = ..., nickname: _Optional[str] = ..., faceURL: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class UserInfo(_message.Message):
    __slots__ = ("userID", "nickname", "faceURL", "ex", "createTime", "appMangerLevel", "globalRecvMsgOpt")
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    APPMANGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    GLOBALRECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    nickname: str
    faceURL: str
    ex: str
    createTime: int
    appMangerLevel: int
    globalRecvMsgOpt: int
    def __init__(self, userID: _Optional[str] = ..., nickname: _Optional[str] = ..., faceURL: _Optional[str] = ..., ex: _Optional[str] = ..., createTime: _Optional[int] = ..., appMangerLevel: _Optional[int] = ..., globalRecvMsgOpt: _Optional[int] = ...) -> None: ...

class UserInfoWithEx(_message.Message):
    __slots__ = ("userID", "nickname", "faceURL", "ex", "globalRecvMsgOpt")
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    GLOBALRECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    nickname: _wrapperspb_pb2.StringValue
    faceURL: _wrapperspb_pb2.StringValue
    ex: _wrapperspb_pb2.StringValue
    globalRecvMsgOpt: _wrapperspb_pb2.Int32Value
    def __init__(self, userID: _Optional[str] = ..., nickname: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., faceURL: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., globalRecvMsgOpt: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ...) -> None: ...

class FriendInfo(_message.Message):
    __slots__ = ("ownerUserID", "remark", "createTime", "friendUser", "addSource", "operatorUserID", "ex", "isPinned")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSER_FIELD_NUMBER: _ClassVar[int]
    ADDSOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATORUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    remark: str
    createTime: int
    friendUser: UserInfo
    addSource: int
    operatorUserID: str
    ex: str
    isPinned: bool
    def __init__(self, ownerUserID: _Optional[str] = ..., remark: _Optional[str] = ..., createTime: _Optional[int] = ..., friendUser: _Optional[_Union[UserInfo, _Mapping]] = ..., addSource: _Optional[int] = ..., operatorUserID: _Optional[str] = ..., ex: _Optional[str] = ..., isPinned: _Optional[bool] = ...) -> None: ...

class BlackInfo(_message.Message):
    __slots__ = ("ownerUserID", "createTime", "blackUserInfo", "addSource", "operatorUserID", "ex")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    BLACKUSERINFO_FIELD_NUMBER: _ClassVar[int]
    ADDSOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATORUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    createTime: int
    blackUserInfo: PublicUserInfo
    addSource: int
    operatorUserID: str
    ex: str
    def __init__(self, ownerUserID: _Optional[str] = ..., createTime: _Optional[int] = ..., blackUserInfo: _Optional[_Union[PublicUserInfo, _Mapping]] = ..., addSource: _Optional[int] = ..., operatorUserID: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class GroupRequest(_message.Message):
    __slots__ = ("userInfo", "groupInfo", "handleResult", "reqMsg", "handleMsg", "reqTime", "handleUserID", "handleTime", "ex", "joinSource", "inviterUserID")
    USERINFO_FIELD_NUMBER: _ClassVar[int]
    GROUPINFO_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULT_FIELD_NUMBER: _ClassVar[int]
    REQMSG_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    REQTIME_FIELD_NUMBER: _ClassVar[int]
    HANDLEUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLETIME_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    JOINSOURCE_FIELD_NUMBER: _ClassVar[int]
    INVITERUSERID_FIELD_NUMBER: _ClassVar[int]
    userInfo: PublicUserInfo
    groupInfo: GroupInfo
    handleResult: int
    reqMsg: str
    handleMsg: str
    reqTime: int
    handleUserID: str
    handleTime: int
    ex: str
    joinSource: int
    inviterUserID: str
    def __init__(self, userInfo: _Optional[_Union[PublicUserInfo, _Mapping]] = ..., groupInfo: _Optional[_Union[GroupInfo, _Mapping]] = ..., handleResult: _Optional[int] = ..., reqMsg: _Optional[str] = ..., handleMsg: _Optional[str] = ..., reqTime: _Optional[int] = ..., handleUserID: _Optional[str] = ..., handleTime: _Optional[int] = ..., ex: _Optional[str] = ..., joinSource: _Optional[int] = ..., inviterUserID: _Optional[str] = ...) -> None: ...

class FriendRequest(_message.Message):
    __slots__ = ("fromUserID", "fromNickname", "fromFaceURL", "toUserID", "toNickname", "toFaceURL", "handleResult", "reqMsg", "createTime", "handlerUserID", "handleMsg", "handleTime", "ex")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    FROMNICKNAME_FIELD_NUMBER: _ClassVar[int]
    FROMFACEURL_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    TONICKNAME_FIELD_NUMBER: _ClassVar[int]
    TOFACEURL_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULT_FIELD_NUMBER: _ClassVar[int]
    REQMSG_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    HANDLERUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    HANDLETIME_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    fromNickname: str
    fromFaceURL: str
    toUserID: str
    toNickname: str
    toFaceURL: str
    handleResult: int
    reqMsg: str
    createTime: int
    handlerUserID: str
    handleMsg: str
    handleTime: int
    ex: str
    def __init__(self, fromUserID: _Optional[str] = ..., fromNickname: _Optional[str] = ..., fromFaceURL: _Optional[str] = ..., toUserID: _Optional[str] = ..., toNickname: _Optional[str] = ..., toFaceURL: _Optional[str] = ..., handleResult: _Optional[int] = ..., reqMsg: _Optional[str] = ..., createTime: _Optional[int] = ..., handlerUserID: _Optional[str] = ..., handleMsg: _Optional[str] = ..., handleTime: _Optional[int] = ..., ex: _Optional[str] = ...) -> None: ...

class RequestPagination(_message.Message):
    __slots__ = ("pageNumber", "showNumber")
    PAGENUMBER_FIELD_NUMBER: _ClassVar[int]
    SHOWNUMBER_FIELD_NUMBER: _ClassVar[int]
    pageNumber: int
    showNumber: int
    def __init__(self, pageNumber: _Optional[int] = ..., showNumber: _Optional[int] = ...) -> None: ...

class OfflinePushInfo(_message.Message):
    __slots__ = ("title", "desc", "ex", "iOSPushSound", "iOSBadgeCount", "signalInfo")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    IOSPUSHSOUND_FIELD_NUMBER: _ClassVar[int]
    IOSBADGECOUNT_FIELD_NUMBER: _ClassVar[int]
    SIGNALINFO_FIELD_NUMBER: _ClassVar[int]
    title: str
    desc: str
    ex: str
    iOSPushSound: str
    iOSBadgeCount: bool
    signalInfo: str
    def __init__(self, title: _Optional[str] = ..., desc: _Optional[str] = ..., ex: _Optional[str] = ..., iOSPushSound: _Optional[str] = ..., iOSBadgeCount: _Optional[bool] = ..., signalInfo: _Optional[str] = ...) -> None: ...

class MsgData(_message.Message):
    __slots__ = ("sendID", "recvID", "groupID", "clientMsgID", "serverMsgID", "senderPlatformID", "senderNickname", "senderFaceURL", "sessionType", "msgFrom", "contentType", "content", "seq", "sendTime", "createTime", "status", "isRead", "options", "offlinePushInfo", "atUserIDList", "attachedInfo", "ex")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    SENDID_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDERPLATFORMID_FIELD_NUMBER: _ClassVar[int]
    SENDERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDERFACEURL_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    MSGFROM_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ISREAD_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    OFFLINEPUSHINFO_FIELD_NUMBER: _ClassVar[int]
    ATUSERIDLIST_FIELD_NUMBER: _ClassVar[int]
    ATTACHEDINFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    sendID: str
    recvID: str
    groupID: str
    clientMsgID: str
    serverMsgID: str
    senderPlatformID: int
    senderNickname: str
    senderFaceURL: str
    sessionType: int
    msgFrom: int
    contentType: int
    content: bytes
    seq: int
    sendTime: int
    createTime: int
    status: int
    isRead: bool
    options: _containers.ScalarMap[str, bool]
    offlinePushInfo: OfflinePushInfo
    atUserIDList: _containers.RepeatedScalarFieldContainer[str]
    attachedInfo: str
    ex: str
    def __init__(self, sendID: _Optional[str] = ..., recvID: _Optional[str] = ..., groupID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., serverMsgID: _Optional[str] = ..., senderPlatformID: _Optional[int] = ..., senderNickname: _Optional[str] = ..., senderFaceURL: _Optional[str] = ..., sessionType: _Optional[int] = ..., msgFrom: _Optional[int] = ..., contentType: _Optional[int] = ..., content: _Optional[bytes] = ..., seq: _Optional[int] = ..., sendTime: _Optional[int] = ..., createTime: _Optional[int] = ..., status: _Optional[int] = ..., isRead: _Optional[bool] = ..., options: _Optional[_Mapping[str, bool]] = ..., offlinePushInfo: _Optional[_Union[OfflinePushInfo, _Mapping]] = ..., atUserIDList: _Optional[_Iterable[str]] = ..., attachedInfo: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class UserSendMsgResp(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendTime")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendTime: _Optional[int] = ...) -> None: ...

class GetMaxSeqReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class GetMaxSeqResp(_message.Message):
    __slots__ = ("maxSeqs", "minSeqs")
    class MaxSeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class MinSeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MAXSEQS_FIELD_NUMBER: _ClassVar[int]
    MINSEQS_FIELD_NUMBER: _ClassVar[int]
    maxSeqs: _containers.ScalarMap[str, int]
    minSeqs: _containers.ScalarMap[str, int]
    def __init__(self, maxSeqs: _Optional[_Mapping[str, int]] = ..., minSeqs: _Optional[_Mapping[str, int]] = ...) -> None: ...

class SeqRange(_message.Message):
    __slots__ = ("conversationID", "begin", "end", "num")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    NUM_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    begin: int
    end: int
    num: int
    def __init__(self, conversationID: _Optional[str] = ..., begin: _Optional[int] = ..., end: _Optional[int] = ..., num: _Optional[int] = ...) -> None: ...

class PullMessageBySeqsReq(_message.Message):
    __slots__ = ("userID", "seqRanges", "order")
    USERID_FIELD_NUMBER: _ClassVar[int]
    SEQRANGES_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    userID: str
    seqRanges: _containers.RepeatedCompositeFieldContainer[SeqRange]
    order: PullOrder
    def __init__(self, userID: _Optional[str] = ..., seqRanges: _Optional[_Iterable[_Union[SeqRange, _Mapping]]] = ..., order: _Optional[_Union[PullOrder, str]] = ...) -> None: ...

class PullMsgs(_message.Message):
    __slots__ = ("Msgs", "isEnd", "endSeq")
    MSGS_FIELD_NUMBER: _ClassVar[int]
    ISEND_FIELD_NUMBER: _ClassVar[int]
    ENDSEQ_FIELD_NUMBER: _ClassVar[int]
    Msgs: _containers.RepeatedCompositeFieldContainer[MsgData]
    isEnd: bool
    endSeq: int
    def __init__(self, Msgs: _Optional[_Iterable[_Union[MsgData, _Mapping]]] = ..., isEnd: _Optional[bool] = ..., endSeq: _Optional[int] = ...) -> None: ...

class PullMessageBySeqsResp(_message.Message):
    __slots__ = ("msgs", "notificationMsgs")
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PullMsgs, _Mapping]] = ...) -> None: ...
    class NotificationMsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PullMsgs, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONMSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, PullMsgs]
    notificationMsgs: _containers.MessageMap[str, PullMsgs]
    def __init__(self, msgs: _Optional[_Mapping[str, PullMsgs]] = ..., notificationMsgs: _Optional[_Mapping[str, PullMsgs]] = ...) -> None: ...

class PushMessages(_message.Message):
    __slots__ = ("msgs", "notificationMsgs")
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PullMsgs, _Mapping]] = ...) -> None: ...
    class NotificationMsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PullMsgs, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONMSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, PullMsgs]
    notificationMsgs: _containers.MessageMap[str, PullMsgs]
    def __init__(self, msgs: _Optional[_Mapping[str, PullMsgs]] = ..., notificationMsgs: _Optional[_Mapping[str, PullMsgs]] = ...) -> None: ...

class seqs(_message.Message):
    __slots__ = ("seqs",)
    SEQS_FIELD_NUMBER: _ClassVar[int]
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class SubUserOnlineStatus(_message.Message):
    __slots__ = ("subscribeUserID", "unsubscribeUserID")
    SUBSCRIBEUSERID_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBEUSERID_FIELD_NUMBER: _ClassVar[int]
    subscribeUserID: _containers.RepeatedScalarFieldContainer[str]
    unsubscribeUserID: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subscribeUserID: _Optional[_Iterable[str]] = ..., unsubscribeUserID: _Optional[_Iterable[str]] = ...) -> None: ...

class SubUserOnlineStatusElem(_message.Message):
    __slots__ = ("userID", "onlinePlatformIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    ONLINEPLATFORMIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    onlinePlatformIDs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, userID: _Optional[str] = ..., onlinePlatformIDs: _Optional[_Iterable[int]] = ...) -> None: ...

class SubUserOnlineStatusTips(_message.Message):
    __slots__ = ("subscribers",)
    SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    subscribers: _containers.RepeatedCompositeFieldContainer[SubUserOnlineStatusElem]
    def __init__(self, subscribers: _Optional[_Iterable[_Union[SubUserOnlineStatusElem, _Mapping]]] = ...) -> None: ...

class SetAppBackgroundStatusReq(_message.Message):
    __slots__ = ("userID", "isBackground")
    USERID_FIELD_NUMBER: _ClassVar[int]
    ISBACKGROUND_FIELD_NUMBER: _ClassVar[int]
    userID: str
    isBackground: bool
    def __init__(self, userID: _Optional[str] = ..., isBackground: _Optional[bool] = ...) -> None: ...

class SetAppBackgroundStatusResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerConfig(_message.Message):
    __slots__ = ("isEncryption",)
    ISENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    isEncryption: bool
    def __init__(self, isEncryption: _Optional[bool] = ...) -> None: ...

class NotificationElem(_message.Message):
    __slots__ = ("detail",)
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    detail: str
    def __init__(self, detail: _Optional[str] = ...) -> None: ...

class TipsComm(_message.Message):
    __slots__ = ("detail", "defaultTips", "jsonDetail")
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    DEFAULTTIPS_FIELD_NUMBER: _ClassVar[int]
    JSONDETAIL_FIELD_NUMBER: _ClassVar[int]
    detail: bytes
    defaultTips: str
    jsonDetail: str
    def __init__(self, detail: _Optional[bytes] = ..., defaultTips: _Optional[str] = ..., jsonDetail: _Optional[str] = ...) -> None: ...

class FromToUserID(_message.Message):
    __slots__ = ("fromUserID", "toUserID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ...) -> None: ...

class GroupCreatedTips(_message.Message):
    __slots__ = ("group", "opUser", "memberList", "operationTime", "groupOwnerUser", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    MEMBERLIST_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPOWNERUSER_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    memberList: _containers.RepeatedCompositeFieldContainer[GroupMemberFullInfo]
    operationTime: int
    groupOwnerUser: GroupMemberFullInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., memberList: _Optional[_Iterable[_Union[GroupMemberFullInfo, _Mapping]]] = ..., operationTime: _Optional[int] = ..., groupOwnerUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupInfoSetTips(_message.Message):
    __slots__ = ("opUser", "muteTime", "group", "groupMemberVersion", "groupMemberVersionID")
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    MUTETIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    opUser: GroupMemberFullInfo
    muteTime: int
    group: GroupInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., muteTime: _Optional[int] = ..., group: _Optional[_Union[GroupInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupInfoSetNameTips(_message.Message):
    __slots__ = ("opUser", "group", "groupMemberVersion", "groupMemberVersionID")
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    opUser: GroupMemberFullInfo
    group: GroupInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., group: _Optional[_Union[GroupInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupInfoSetAnnouncementTips(_message.Message):
    __slots__ = ("opUser", "group", "groupMemberVersion", "groupMemberVersionID")
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    opUser: GroupMemberFullInfo
    group: GroupInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., group: _Optional[_Union[GroupInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class JoinGroupApplicationTips(_message.Message):
    __slots__ = ("group", "applicant", "reqMsg", "uuid", "request")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_FIELD_NUMBER: _ClassVar[int]
    REQMSG_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    applicant: PublicUserInfo
    reqMsg: str
    uuid: str
    request: GroupRequest
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., applicant: _Optional[_Union[PublicUserInfo, _Mapping]] = ..., reqMsg: _Optional[str] = ..., uuid: _Optional[str] = ..., request: _Optional[_Union[GroupRequest, _Mapping]] = ...) -> None: ...

class MemberQuitTips(_message.Message):
    __slots__ = ("group", "quitUser", "operationTime", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    QUITUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    quitUser: GroupMemberFullInfo
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., quitUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupApplicationAcceptedTips(_message.Message):
    __slots__ = ("group", "opUser", "handleMsg", "receiverAs", "uuid", "request")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    RECEIVERAS_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    handleMsg: str
    receiverAs: int
    uuid: str
    request: GroupRequest
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., handleMsg: _Optional[str] = ..., receiverAs: _Optional[int] = ..., uuid: _Optional[str] = ..., request: _Optional[_Union[GroupRequest, _Mapping]] = ...) -> None: ...

class GroupApplicationRejectedTips(_message.Message):
    __slots__ = ("group", "opUser", "handleMsg", "receiverAs", "uuid", "request")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    RECEIVERAS_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    handleMsg: str
    receiverAs: int
    uuid: str
    request: GroupRequest
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., handleMsg: _Optional[str] = ..., receiverAs: _Optional[int] = ..., uuid: _Optional[str] = ..., request: _Optional[_Union[GroupRequest, _Mapping]] = ...) -> None: ...

class GroupOwnerTransferredTips(_message.Message):
    __slots__ = ("group", "opUser", "newGroupOwner", "oldGroupOwner", "operationTime", "oldGroupOwnerInfo", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    NEWGROUPOWNER_FIELD_NUMBER: _ClassVar[int]
    OLDGROUPOWNER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    OLDGROUPOWNERINFO_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    newGroupOwner: GroupMemberFullInfo
    oldGroupOwner: str
    operationTime: int
    oldGroupOwnerInfo: GroupMemberFullInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., newGroupOwner: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., oldGroupOwner: _Optional[str] = ..., operationTime: _Optional[int] = ..., oldGroupOwnerInfo: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class MemberKickedTips(_message.Message):
    __slots__ = ("group", "opUser", "kickedUserList", "operationTime", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    KICKEDUSERLIST_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    kickedUserList: _containers.RepeatedCompositeFieldContainer[GroupMemberFullInfo]
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., kickedUserList: _Optional[_Iterable[_Union[GroupMemberFullInfo, _Mapping]]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class MemberInvitedTips(_message.Message):
    __slots__ = ("group", "opUser", "invitedUserList", "operationTime", "groupMemberVersion", "groupMemberVersionID", "inviterUser")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    INVITEDUSERLIST_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    INVITERUSER_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    invitedUserList: _containers.RepeatedCompositeFieldContainer[GroupMemberFullInfo]
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    inviterUser: GroupMemberFullInfo
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., invitedUserList: _Optional[_Iterable[_Union[GroupMemberFullInfo, _Mapping]]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ..., inviterUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ...) -> None: ...

class MemberEnterTips(_message.Message):
    __slots__ = ("group", "entrantUser", "operationTime", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ENTRANTUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    entrantUser: GroupMemberFullInfo
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., entrantUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupDismissedTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ...) -> None: ...

class GroupMemberMutedTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime", "mutedUser", "mutedSeconds", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    MUTEDUSER_FIELD_NUMBER: _ClassVar[int]
    MUTEDSECONDS_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    mutedUser: GroupMemberFullInfo
    mutedSeconds: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., mutedUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., mutedSeconds: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupMemberCancelMutedTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime", "mutedUser", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    MUTEDUSER_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    mutedUser: GroupMemberFullInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., mutedUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupMutedTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupCancelMutedTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime", "groupMemberVersion", "groupMemberVersionID")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    groupMemberVersion: int
    groupMemberVersionID: str
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ...) -> None: ...

class GroupMemberInfoSetTips(_message.Message):
    __slots__ = ("group", "opUser", "operationTime", "changedUser", "groupMemberVersion", "groupMemberVersionID", "groupSortVersion")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    CHANGEDUSER_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSION_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERVERSIONID_FIELD_NUMBER: _ClassVar[int]
    GROUPSORTVERSION_FIELD_NUMBER: _ClassVar[int]
    group: GroupInfo
    opUser: GroupMemberFullInfo
    operationTime: int
    changedUser: GroupMemberFullInfo
    groupMemberVersion: int
    groupMemberVersionID: str
    groupSortVersion: int
    def __init__(self, group: _Optional[_Union[GroupInfo, _Mapping]] = ..., opUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., changedUser: _Optional[_Union[GroupMemberFullInfo, _Mapping]] = ..., groupMemberVersion: _Optional[int] = ..., groupMemberVersionID: _Optional[str] = ..., groupSortVersion: _Optional[int] = ...) -> None: ...

class FriendApplicationTips(_message.Message):
    __slots__ = ("fromToUserID", "request")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    request: FriendRequest
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., request: _Optional[_Union[FriendRequest, _Mapping]] = ...) -> None: ...

class FriendApplicationApprovedTips(_message.Message):
    __slots__ = ("fromToUserID", "handleMsg", "friendVersion", "friendVersionID", "request")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSION_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSIONID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    handleMsg: str
    friendVersion: int
    friendVersionID: str
    request: FriendRequest
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., handleMsg: _Optional[str] = ..., friendVersion: _Optional[int] = ..., friendVersionID: _Optional[str] = ..., request: _Optional[_Union[FriendRequest, _Mapping]] = ...) -> None: ...

class FriendApplicationRejectedTips(_message.Message):
    __slots__ = ("fromToUserID", "handleMsg", "request")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    handleMsg: str
    request: FriendRequest
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., handleMsg: _Optional[str] = ..., request: _Optional[_Union[FriendRequest, _Mapping]] = ...) -> None: ...

class FriendAddedTips(_message.Message):
    __slots__ = ("friend", "operationTime", "opUser", "friendVersion", "friendVersionID")
    FRIEND_FIELD_NUMBER: _ClassVar[int]
    OPERATIONTIME_FIELD_NUMBER: _ClassVar[int]
    OPUSER_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSION_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSIONID_FIELD_NUMBER: _ClassVar[int]
    friend: FriendInfo
    operationTime: int
    opUser: PublicUserInfo
    friendVersion: int
    friendVersionID: str
    def __init__(self, friend: _Optional[_Union[FriendInfo, _Mapping]] = ..., operationTime: _Optional[int] = ..., opUser: _Optional[_Union[PublicUserInfo, _Mapping]] = ..., friendVersion: _Optional[int] = ..., friendVersionID: _Optional[str] = ...) -> None: ...

class FriendDeletedTips(_message.Message):
    __slots__ = ("fromToUserID", "friendVersion", "friendVersionID")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSION_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSIONID_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    friendVersion: int
    friendVersionID: str
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., friendVersion: _Optional[int] = ..., friendVersionID: _Optional[str] = ...) -> None: ...

class BlackAddedTips(_message.Message):
    __slots__ = ("fromToUserID",)
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ...) -> None: ...

class BlackDeletedTips(_message.Message):
    __slots__ = ("fromToUserID",)
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ...) -> None: ...

class FriendInfoChangedTips(_message.Message):
    __slots__ = ("fromToUserID", "friendVersion", "friendVersionID", "friendSortVersion")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSION_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSIONID_FIELD_NUMBER: _ClassVar[int]
    FRIENDSORTVERSION_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    friendVersion: int
    friendVersionID: str
    friendSortVersion: int
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., friendVersion: _Optional[int] = ..., friendVersionID: _Optional[str] = ..., friendSortVersion: _Optional[int] = ...) -> None: ...

class FriendsInfoUpdateTips(_message.Message):
    __slots__ = ("fromToUserID", "friendIDs", "friendVersion", "friendVersionID")
    FROMTOUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDIDS_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSION_FIELD_NUMBER: _ClassVar[int]
    FRIENDVERSIONID_FIELD_NUMBER: _ClassVar[int]
    fromToUserID: FromToUserID
    friendIDs: _containers.RepeatedScalarFieldContainer[str]
    friendVersion: int
    friendVersionID: str
    def __init__(self, fromToUserID: _Optional[_Union[FromToUserID, _Mapping]] = ..., friendIDs: _Optional[_Iterable[str]] = ..., friendVersion: _Optional[int] = ..., friendVersionID: _Optional[str] = ...) -> None: ...

class UserInfoUpdatedTips(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class UserStatusChangeTips(_message.Message):
    __slots__ = ("fromUserID", "toUserID", "status", "platformID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    status: int
    platformID: int
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ..., status: _Optional[int] = ..., platformID: _Optional[int] = ...) -> None: ...

class UserCommandAddTips(_message.Message):
    __slots__ = ("fromUserID", "toUserID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ...) -> None: ...

class UserCommandUpdateTips(_message.Message):
    __slots__ = ("fromUserID", "toUserID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ...) -> None: ...

class UserCommandDeleteTips(_message.Message):
    __slots__ = ("fromUserID", "toUserID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ...) -> None: ...

class ConversationUpdateTips(_message.Message):
    __slots__ = ("userID", "conversationIDList")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDLIST_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDList: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDList: _Optional[_Iterable[str]] = ...) -> None: ...

class ConversationSetPrivateTips(_message.Message):
    __slots__ = ("recvID", "sendID", "isPrivate", "conversationID")
    RECVID_FIELD_NUMBER: _ClassVar[int]
    SENDID_FIELD_NUMBER: _ClassVar[int]
    ISPRIVATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    recvID: str
    sendID: str
    isPrivate: bool
    conversationID: str
    def __init__(self, recvID: _Optional[str] = ..., sendID: _Optional[str] = ..., isPrivate: _Optional[bool] = ..., conversationID: _Optional[str] = ...) -> None: ...

class ConversationHasReadTips(_message.Message):
    __slots__ = ("userID", "conversationID", "hasReadSeq", "unreadCountTime")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    UNREADCOUNTTIME_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationID: str
    hasReadSeq: int
    unreadCountTime: int
    def __init__(self, userID: _Optional[str] = ..., conversationID: _Optional[str] = ..., hasReadSeq: _Optional[int] = ..., unreadCountTime: _Optional[int] = ...) -> None: ...

class ClearConversationTips(_message.Message):
    __slots__ = ("userID", "conversationIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class ConversationDeleteTips(_message.Message):
    __slots__ = ("userID", "conversationIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class RevokeMsgTips(_message.Message):
    __slots__ = ("revokerUserID", "clientMsgID", "revokeTime", "sesstionType", "seq", "conversationID", "isAdminRevoke")
    REVOKERUSERID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    REVOKETIME_FIELD_NUMBER: _ClassVar[int]
    SESSTIONTYPE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    ISADMINREVOKE_FIELD_NUMBER: _ClassVar[int]
    revokerUserID: str
    clientMsgID: str
    revokeTime: int
    sesstionType: int
    seq: int
    conversationID: str
    isAdminRevoke: bool
    def __init__(self, revokerUserID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., revokeTime: _Optional[int] = ..., sesstionType: _Optional[int] = ..., seq: _Optional[int] = ..., conversationID: _Optional[str] = ..., isAdminRevoke: _Optional[bool] = ...) -> None: ...

class MessageRevokedContent(_message.Message):
    __slots__ = ("revokerID", "revokerRole", "clientMsgID", "revokerNickname", "revokeTime", "sourceMessageSendTime", "sourceMessageSendID", "sourceMessageSenderNickname", "sessionType", "seq", "ex")
    REVOKERID_FIELD_NUMBER: _ClassVar[int]
    REVOKERROLE_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    REVOKERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    REVOKETIME_FIELD_NUMBER: _ClassVar[int]
    SOURCEMESSAGESENDTIME_FIELD_NUMBER: _ClassVar[int]
    SOURCEMESSAGESENDID_FIELD_NUMBER: _ClassVar[int]
    SOURCEMESSAGESENDERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    revokerID: str
    revokerRole: int
    clientMsgID: str
    revokerNickname: str
    revokeTime: int
    sourceMessageSendTime: int
    sourceMessageSendID: str
    sourceMessageSenderNickname: str
    sessionType: int
    seq: int
    ex: str
    def __init__(self, revokerID: _Optional[str] = ..., revokerRole: _Optional[int] = ..., clientMsgID: _Optional[str] = ..., revokerNickname: _Optional[str] = ..., revokeTime: _Optional[int] = ..., sourceMessageSendTime: _Optional[int] = ..., sourceMessageSendID: _Optional[str] = ..., sourceMessageSenderNickname: _Optional[str] = ..., sessionType: _Optional[int] = ..., seq: _Optional[int] = ..., ex: _Optional[str] = ...) -> None: ...

class DeleteMsgsTips(_message.Message):
    __slots__ = ("userID", "conversationID", "seqs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, userID: _Optional[str] = ..., conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class DeleteMessageTips(_message.Message):
    __slots__ = ("opUserID", "userID", "seqs")
    OPUSERID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    opUserID: str
    userID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, opUserID: _Optional[str] = ..., userID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class MarkAsReadTips(_message.Message):
    __slots__ = ("markAsReadUserID", "conversationID", "seqs", "hasReadSeq")
    MARKASREADUSERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    markAsReadUserID: str
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    hasReadSeq: int
    def __init__(self, markAsReadUserID: _Optional[str] = ..., conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., hasReadSeq: _Optional[int] = ...) -> None: ...

class StreamMsgTips(_message.Message):
    __slots__ = ("conversationID", "clientMsgID", "startIndex", "packets", "end")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    STARTINDEX_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    clientMsgID: str
    startIndex: int
    packets: _containers.RepeatedScalarFieldContainer[str]
    end: bool
    def __init__(self, conversationID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., startIndex: _Optional[int] = ..., packets: _Optional[_Iterable[str]] = ..., end: _Optional[bool] = ...) -> None: ...
