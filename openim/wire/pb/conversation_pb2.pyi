from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from openim.wire.pb import wrapperspb_pb2 as _wrapperspb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Conversation(_message.Message):
    __slots__ = ("ownerUserID", "conversationID", "recvMsgOpt", "conversationType", "userID", "groupID", "isPinned", "attachedInfo", "isPrivateChat", "groupAtType", "ex", "burnDuration", "minSeq", "maxSeq", "msgDestructTime", "latestMsgDestructTime", "isMsgDestruct")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    RECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONTYPE_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    ATTACHEDINFO_FIELD_NUMBER: _ClassVar[int]
    ISPRIVATECHAT_FIELD_NUMBER: _ClassVar[int]
    GROUPATTYPE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    BURNDURATION_FIELD_NUMBER: _ClassVar[int]
    MINSEQ_FIELD_NUMBER: _ClassVar[int]
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    MSGDESTRUCTTIME_FIELD_NUMBER: _ClassVar[int]
    LATESTMSGDESTRUCTTIME_FIELD_NUMBER: _ClassVar[int]
    ISMSGDESTRUCT_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    conversationID: str
    recvMsgOpt: int
    conversationType: int
    userID: str
    groupID: str
    isPinned: bool
    attachedInfo: str
    isPrivateChat: bool
    groupAtType: int
    ex: str
    burnDuration: int
    minSeq: int
    maxSeq: int
    msgDestructTime: int
    latestMsgDestructTime: int
    isMsgDestruct: bool
    def __init__(self, ownerUserID: _Optional[str] = ..., conversationID: _Optional[str] = ..., recvMsgOpt: _Optional[int] = ..., conversationType: _Optional[int] = ..., userID: _Optional[str] = ..., groupID: _Optional[str] = ..., isPinned: _Optional[bool] = ..., attachedInfo: _Optional[str] = ..., isPrivateChat: _Optional[bool] = ..., groupAtType: _Optional[int] = ..., ex: _Optional[str] = ..., burnDuration: _Optional[int] = ..., minSeq: _Optional[int] = ..., maxSeq: _Optional[int] = ..., msgDestructTime: _Optional[int] = ..., latestMsgDestructTime: _Optional[int] = ..., isMsgDestruct: _Optional[bool] = ...) -> None: ...

class ConversationReq(_message.Message):
    __slots__ = ("conversationID", "conversationType", "userID", "groupID", "recvMsgOpt", "isPinned", "attachedInfo", "isPrivateChat", "ex", "burnDuration", "minSeq", "maxSeq", "groupAtType", "msgDestructTime", "isMsgDestruct")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONTYPE_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    RECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    ATTACHEDINFO_FIELD_NUMBER: _ClassVar[int]
    ISPRIVATECHAT_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    BURNDURATION_FIELD_NUMBER: _ClassVar[int]
    MINSEQ_FIELD_NUMBER: _ClassVar[int]
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    GROUPATTYPE_FIELD_NUMBER: _ClassVar[int]
    MSGDESTRUCTTIME_FIELD_NUMBER: _ClassVar[int]
    ISMSGDESTRUCT_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    conversationType: int
    userID: str
    groupID: str
    recvMsgOpt: _wrapperspb_pb2.Int32Value
    isPinned: _wrapperspb_pb2.BoolValue
    attachedInfo: _wrapperspb_pb2.StringValue
    isPrivateChat: _wrapperspb_pb2.BoolValue
    ex: _wrapperspb_pb2.StringValue
    burnDuration: _wrapperspb_pb2.Int32Value
    minSeq: _wrapperspb_pb2.Int64Value
    maxSeq: _wrapperspb_pb2.Int64Value
    groupAtType: _wrapperspb_pb2.Int32Value
    msgDestructTime: _wrapperspb_pb2.Int64Value
    isMsgDestruct: _wrapperspb_pb2.BoolValue
    def __init__(self, conversationID: _Optional[str] = ..., conversationType: _Optional[int] = ..., userID: _Optional[str] = ..., groupID: _Optional[str] = ..., recvMsgOpt: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., isPinned: _Optional[_Union[_wrapperspb_pb2.BoolValue, _Mapping]] = ..., attachedInfo: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., isPrivateChat: _Optional[_Union[_wrapperspb_pb2.BoolValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., burnDuration: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., minSeq: _Optional[_Union[_wrapperspb_pb2.Int64Value, _Mapping]] = ..., maxSeq: _Optional[_Union[_wrapperspb_pb2.Int64Value, _Mapping]] = ..., groupAtType: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., msgDestructTime: _Optional[_Union[_wrapperspb_pb2.Int64Value, _Mapping]] = ..., isMsgDestruct: _Optional[_Union[_wrapperspb_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class SetConversationsReq(_message.Message):
    __slots__ = ("userIDs", "conversation")
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    conversation: ConversationReq
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ..., conversation: _Optional[_Union[ConversationReq, _Mapping]] = ...) -> None: ...

class SetConversationsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIncrementalConversationReq(_message.Message):
    __slots__ = ("userID", "versionID", "version")
    USERID_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    versionID: str
    version: int
    def __init__(self, userID: _Optional[str] = ..., versionID: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetIncrementalConversationResp(_message.Message):
    __slots__ = ("version", "versionID", "full", "delete", "insert", "update")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    INSERT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    full: bool
    delete: _containers.RepeatedScalarFieldContainer[str]
    insert: _containers.RepeatedCompositeFieldContainer[Conversation]
    update: _containers.RepeatedCompositeFieldContainer[Conversation]
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., full: _Optional[bool] = ..., delete: _Optional[_Iterable[str]] = ..., insert: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., update: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ...) -> None: ...

class GetNotNotifyConversationIDsReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class GetNotNotifyConversationIDsResp(_message.Message):
    __slots__ = ("conversationIDs",)
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAllConversationsReq(_message.Message):
    __slots__ = ("ownerUserID",)
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    def __init__(self, ownerUserID: _Optional[str] = ...) -> None: ...

class GetAllConversationsResp(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ...) -> None: ...

class GetConversationReq(_message.Message):
    __slots__ = ("conversationID", "ownerUserID")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    ownerUserID: str
    def __init__(self, conversationID: _Optional[str] = ..., ownerUserID: _Optional[str] = ...) -> None: ...

class GetConversationResp(_message.Message):
    __slots__ = ("conversation",)
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    conversation: Conversation
    def __init__(self, conversation: _Optional[_Union[Conversation, _Mapping]] = ...) -> None: ...

class GetConversationsReq(_message.Message):
    __slots__ = ("ownerUserID", "conversationIDs")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetConversationsResp(_message.Message):
    __slots__ = ("conversations",)
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ...) -> None: ...

class GetOwnerConversationReq(_message.Message):
    __slots__ = ("userID", "pagination")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, userID: _Optional[str] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class GetOwnerConversationResp(_message.Message):
    __slots__ = ("total", "conversations")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    total: int
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    def __init__(self, total: _Optional[int] = ..., conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ...) -> None: ...

class GetFullOwnerConversationIDsReq(_message.Message):
    __slots__ = ("idHash", "userID")
    IDHASH_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    idHash: int
    userID: str
    def __init__(self, idHash: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class GetFullOwnerConversationIDsResp(_message.Message):
    __slots__ = ("version", "versionID", "equal", "conversationIDs")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    EQUAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    equal: bool
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., equal: _Optional[bool] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetPinnedConversationIDsReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class GetPinnedConversationIDsResp(_message.Message):
    __slots__ = ("conversationIDs",)
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSortedConversationListReq(_message.Message):
    __slots__ = ("userID", "conversationIDs", "pagination")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class GetSortedConversationListResp(_message.Message):
    __slots__ = ("conversationTotal", "unreadTotal", "conversationElems")
    CONVERSATIONTOTAL_FIELD_NUMBER: _ClassVar[int]
    UNREADTOTAL_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONELEMS_FIELD_NUMBER: _ClassVar[int]
    conversationTotal: int
    unreadTotal: int
    conversationElems: _containers.RepeatedCompositeFieldContainer[ConversationElem]
    def __init__(self, conversationTotal: _Optional[int] = ..., unreadTotal: _Optional[int] = ..., conversationElems: _Optional[_Iterable[_Union[ConversationElem, _Mapping]]] = ...) -> None: ...

class ConversationElem(_message.Message):
    __slots__ = ("conversationID", "recvMsgOpt", "unreadCount", "IsPinned", "msgInfo")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    RECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    UNREADCOUNT_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    MSGINFO_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    recvMsgOpt: int
    unreadCount: int
    IsPinned: bool
    msgInfo: MsgInfo
    def __init__(self, conversationID: _Optional[str] = ..., recvMsgOpt: _Optional[int] = ..., unreadCount: _Optional[int] = ..., IsPinned: _Optional[bool] = ..., msgInfo: _Optional[_Union[MsgInfo, _Mapping]] = ...) -> None: ...

class MsgInfo(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sessionType", "sendID", "recvID", "senderName", "faceURL", "groupID", "groupName", "groupFaceURL", "groupType", "groupMemberCount", "LatestMsgRecvTime", "msgFrom", "contentType", "content", "ex")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    SENDID_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    SENDERNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPFACEURL_FIELD_NUMBER: _ClassVar[int]
    GROUPTYPE_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERCOUNT_FIELD_NUMBER: _ClassVar[int]
    LATESTMSGRECVTIME_FIELD_NUMBER: _ClassVar[int]
    MSGFROM_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sessionType: int
    sendID: str
    recvID: str
    senderName: str
    faceURL: str
    groupID: str
    groupName: str
    groupFaceURL: str
    groupType: int
    groupMemberCount: int
    LatestMsgRecvTime: int
    msgFrom: int
    contentType: int
    content: str
    ex: str
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sessionType: _Optional[int] = ..., sendID: _Optional[str] = ..., recvID: _Optional[str] = ..., senderName: _Optional[str] = ..., faceURL: _Optional[str] = ..., groupID: _Optional[str] = ..., groupName: _Optional[str] = ..., groupFaceURL: _Optional[str] = ..., groupType: _Optional[int] = ..., groupMemberCount: _Optional[int] = ..., LatestMsgRecvTime: _Optional[int] = ..., msgFrom: _Optional[int] = ..., contentType: _Optional[int] = ..., content: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class DeleteConversationsReq(_message.Message):
    __slots__ = ("ownerUserID", "needDeleteTime", "conversationIDs")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    NEEDDELETETIME_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    needDeleteTime: int
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., needDeleteTime: _Optional[int] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteConversationsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetConversationOfflinePushUserIDsReq(_message.Message):
    __slots__ = ("conversationID", "userIDs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, conversationID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetConversationOfflinePushUserIDsResp(_message.Message):
    __slots__ = ("userIDs",)
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateConversationsByUserReq(_message.Message):
    __slots__ = ("userID", "ex")
    USERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    userID: str
    ex: _wrapperspb_pb2.StringValue
    def __init__(self, userID: _Optional[str] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ...) -> None: ...

class UpdateConversationsByUserResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
