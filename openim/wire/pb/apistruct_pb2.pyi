from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SendMsgReq(_message.Message):
    __slots__ = ("sendID", "recvID", "groupID", "senderNickname", "senderFaceURL", "senderPlatformID", "contentType", "sessionType", "isOnlineOnly", "notOfflinePush", "sendTime", "offlinePushInfo", "ex")
    SENDID_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    SENDERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDERFACEURL_FIELD_NUMBER: _ClassVar[int]
    SENDERPLATFORMID_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    ISONLINEONLY_FIELD_NUMBER: _ClassVar[int]
    NOTOFFLINEPUSH_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    OFFLINEPUSHINFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    sendID: str
    recvID: str
    groupID: str
    senderNickname: str
    senderFaceURL: str
    senderPlatformID: int
    contentType: int
    sessionType: int
    isOnlineOnly: bool
    notOfflinePush: bool
    sendTime: int
    offlinePushInfo: _sdkws_pb2.OfflinePushInfo
    ex: str
    def __init__(self, sendID: _Optional[str] = ..., recvID: _Optional[str] = ..., groupID: _Optional[str] = ..., senderNickname: _Optional[str] = ..., senderFaceURL: _Optional[str] = ..., senderPlatformID: _Optional[int] = ..., contentType: _Optional[int] = ..., sessionType: _Optional[int] = ..., isOnlineOnly: _Optional[bool] = ..., notOfflinePush: _Optional[bool] = ..., sendTime: _Optional[int] = ..., offlinePushInfo: _Optional[_Union[_sdkws_pb2.OfflinePushInfo, _Mapping]] = ..., ex: _Optional[str] = ...) -> None: ...

class BatchSendMsgReq(_message.Message):
    __slots__ = ("sendID", "groupID", "senderNickname", "senderFaceURL", "senderPlatformID", "contentType", "sessionType", "isOnlineOnly", "notOfflinePush", "sendTime", "offlinePushInfo", "ex", "isSendAll", "recvIDs")
    SENDID_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    SENDERNICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDERFACEURL_FIELD_NUMBER: _ClassVar[int]
    SENDERPLATFORMID_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    SESSIONTYPE_FIELD_NUMBER: _ClassVar[int]
    ISONLINEONLY_FIELD_NUMBER: _ClassVar[int]
    NOTOFFLINEPUSH_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    OFFLINEPUSHINFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ISSENDALL_FIELD_NUMBER: _ClassVar[int]
    RECVIDS_FIELD_NUMBER: _ClassVar[int]
    sendID: str
    groupID: str
    senderNickname: str
    senderFaceURL: str
    senderPlatformID: int
    contentType: int
    sessionType: int
    isOnlineOnly: bool
    notOfflinePush: bool
    sendTime: int
    offlinePushInfo: _sdkws_pb2.OfflinePushInfo
    ex: str
    isSendAll: bool
    recvIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sendID: _Optional[str] = ..., groupID: _Optional[str] = ..., senderNickname: _Optional[str] = ..., senderFaceURL: _Optional[str] = ..., senderPlatformID: _Optional[int] = ..., contentType: _Optional[int] = ..., sessionType: _Optional[int] = ..., isOnlineOnly: _Optional[bool] = ..., notOfflinePush: _Optional[bool] = ..., sendTime: _Optional[int] = ..., offlinePushInfo: _Optional[_Union[_sdkws_pb2.OfflinePushInfo, _Mapping]] = ..., ex: _Optional[str] = ..., isSendAll: _Optional[bool] = ..., recvIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class SingleReturnResult(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendTime", "recvID", "modify")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    RECVID_FIELD_NUMBER: _ClassVar[int]
    MODIFY_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    recvID: str
    modify: _sdkws_pb2.MsgData
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendTime: _Optional[int] = ..., recvID: _Optional[str] = ..., modify: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class BatchSendMsgResp(_message.Message):
    __slots__ = ("results", "failedUserIDs")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    FAILEDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SingleReturnResult]
    failedUserIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, results: _Optional[_Iterable[_Union[SingleReturnResult, _Mapping]]] = ..., failedUserIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class SendBusinessNotificationReq(_message.Message):
    __slots__ = ("key", "data", "sendUserID", "recvUserID", "recvGroupID", "sendMsg", "reliabilityLevel")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SENDUSERID_FIELD_NUMBER: _ClassVar[int]
    RECVUSERID_FIELD_NUMBER: _ClassVar[int]
    RECVGROUPID_FIELD_NUMBER: _ClassVar[int]
    SENDMSG_FIELD_NUMBER: _ClassVar[int]
    RELIABILITYLEVEL_FIELD_NUMBER: _ClassVar[int]
    key: str
    data: str
    sendUserID: str
    recvUserID: str
    recvGroupID: str
    sendMsg: bool
    reliabilityLevel: int
    def __init__(self, key: _Optional[str] = ..., data: _Optional[str] = ..., sendUserID: _Optional[str] = ..., recvUserID: _Optional[str] = ..., recvGroupID: _Optional[str] = ..., sendMsg: _Optional[bool] = ..., reliabilityLevel: _Optional[int] = ...) -> None: ...

class SendSimpleMsgReq(_message.Message):
    __slots__ = ("sendID", "content", "offlinePushInfo", "ex")
    SENDID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OFFLINEPUSHINFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    sendID: str
    content: str
    offlinePushInfo: _sdkws_pb2.OfflinePushInfo
    ex: str
    def __init__(self, sendID: _Optional[str] = ..., content: _Optional[str] = ..., offlinePushInfo: _Optional[_Union[_sdkws_pb2.OfflinePushInfo, _Mapping]] = ..., ex: _Optional[str] = ...) -> None: ...
