from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SendMsgReq(_message.Message):
    __slots__ = ("msgData",)
    MSGDATA_FIELD_NUMBER: _ClassVar[int]
    msgData: _sdkws_pb2.MsgData
    def __init__(self, msgData: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class SendMsgResp(_message.Message):
    __slots__ = ("serverMsgID", "clientMsgID", "sendTime", "modify")
    SERVERMSGID_FIELD_NUMBER: _ClassVar[int]
    CLIENTMSGID_FIELD_NUMBER: _ClassVar[int]
    SENDTIME_FIELD_NUMBER: _ClassVar[int]
    MODIFY_FIELD_NUMBER: _ClassVar[int]
    serverMsgID: str
    clientMsgID: str
    sendTime: int
    modify: _sdkws_pb2.MsgData
    def __init__(self, serverMsgID: _Optional[str] = ..., clientMsgID: _Optional[str] = ..., sendTime: _Optional[int] = ..., modify: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...

class ConversationSeqs(_message.Message):
    __slots__ = ("conversationID", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class GetSeqMessageReq(_message.Message):
    __slots__ = ("userID", "conversations", "order")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSeqs]
    order: _sdkws_pb2.PullOrder
    def __init__(self, userID: _Optional[str] = ..., conversations: _Optional[_Iterable[_Union[ConversationSeqs, _Mapping]]] = ..., order: _Optional[_Union[_sdkws_pb2.PullOrder, str]] = ...) -> None: ...

class GetSeqMessageResp(_message.Message):
    __slots__ = ("msgs", "notificationMsgs")
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.PullMsgs, _Mapping]] = ...) -> None: ...
    class NotificationMsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.PullMsgs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.PullMsgs, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONMSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, _sdkws_pb2.PullMsgs]
    notificationMsgs: _containers.MessageMap[str, _sdkws_pb2.PullMsgs]
    def __init__(self, msgs: _Optional[_Mapping[str, _sdkws_pb2.PullMsgs]] = ..., notificationMsgs: _Optional[_Mapping[str, _sdkws_pb2.PullMsgs]] = ...) -> None: ...

class GetConversationsHasReadAndMaxSeqReq(_message.Message):
    __slots__ = ("userID", "conversationIDs", "returnPinned")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    RETURNPINNED_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    returnPinned: bool
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ..., returnPinned: _Optional[bool] = ...) -> None: ...

class Seqs(_message.Message):
    __slots__ = ("maxSeq", "hasReadSeq", "maxSeqTime")
    MAXSEQ_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    MAXSEQTIME_FIELD_NUMBER: _ClassVar[int]
    maxSeq: int
    hasReadSeq: int
    maxSeqTime: int
    def __init__(self, maxSeq: _Optional[int] = ..., hasReadSeq: _Optional[int] = ..., maxSeqTime: _Optional[int] = ...) -> None: ...

class GetConversationsHasReadAndMaxSeqResp(_message.Message):
    __slots__ = ("seqs", "pinnedConversationIDs")
    class SeqsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Seqs
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Seqs, _Mapping]] = ...) -> None: ...
    SEQS_FIELD_NUMBER: _ClassVar[int]
    PINNEDCONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    seqs: _containers.MessageMap[str, Seqs]
    pinnedConversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seqs: _Optional[_Mapping[str, Seqs]] = ..., pinnedConversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLastMessageReq(_message.Message):
    __slots__ = ("userID", "conversationIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., conversationIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetLastMessageResp(_message.Message):
    __slots__ = ("msgs",)
    class MsgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _sdkws_pb2.MsgData
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_sdkws_pb2.MsgData, _Mapping]] = ...) -> None: ...
    MSGS_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.MessageMap[str, _sdkws_pb2.MsgData]
    def __init__(self, msgs: _Optional[_Mapping[str, _sdkws_pb2.MsgData]] = ...) -> None: ...

class RevokeMsgReq(_message.Message):
    __slots__ = ("conversationID", "seq", "userID")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seq: int
    userID: str
    def __init__(self, conversationID: _Optional[str] = ..., seq: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class RevokeMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MarkMsgsAsReadReq(_message.Message):
    __slots__ = ("conversationID", "seqs", "userID")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    userID: str
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., userID: _Optional[str] = ...) -> None: ...

class MarkMsgsAsReadResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MarkConversationAsReadReq(_message.Message):
    __slots__ = ("conversationID", "userID", "hasReadSeq", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    userID: str
    hasReadSeq: int
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., userID: _Optional[str] = ..., hasReadSeq: _Optional[int] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class MarkConversationAsReadResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetConversationHasReadSeqReq(_message.Message):
    __slots__ = ("conversationID", "userID", "hasReadSeq", "noNotification")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    HASREADSEQ_FIELD_NUMBER: _ClassVar[int]
    NONOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    userID: str
    hasReadSeq: int
    noNotification: bool
    def __init__(self, conversationID: _Optional[str] = ..., userID: _Optional[str] = ..., hasReadSeq: _Optional[int] = ..., noNotification: _Optional[bool] = ...) -> None: ...

class SetConversationHasReadSeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteSyncOpt(_message.Message):
    __slots__ = ("IsSyncSelf", "IsSyncOther")
    ISSYNCSELF_FIELD_NUMBER: _ClassVar[int]
    ISSYNCOTHER_FIELD_NUMBER: _ClassVar[int]
    IsSyncSelf: bool
    IsSyncOther: bool
    def __init__(self, IsSyncSelf: _Optional[bool] = ..., IsSyncOther: _Optional[bool] = ...) -> None: ...

class DeleteMsgsReq(_message.Message):
    __slots__ = ("conversationID", "seqs", "userID", "deleteSyncOpt")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class DeleteMsgsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearConversationsMsgReq(_message.Message):
    __slots__ = ("conversationIDs", "userID", "deleteSyncOpt")
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class ClearConversationsMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserClearAllMsgReq(_message.Message):
    __slots__ = ("userID", "deleteSyncOpt")
    USERID_FIELD_NUMBER: _ClassVar[int]
    DELETESYNCOPT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    deleteSyncOpt: DeleteSyncOpt
    def __init__(self, userID: _Optional[str] = ..., deleteSyncOpt: _Optional[_Union[DeleteSyncOpt, _Mapping]] = ...) -> None: ...

class UserClearAllMsgResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteMsgPhysicalReq(_message.Message):
    __slots__ = ("conversationIDs", "timestamp")
    CONVERSATIONIDS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    conversationIDs: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    def __init__(self, conversationIDs: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class DeleteMsgPhysicalResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteMsgPhysicalBySeqReq(_message.Message):
    __slots__ = ("conversationID", "seqs")
    CONVERSATIONID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    conversationID: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, conversationID: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ...) -> None: ...

class DeleteMsgPhysicalBySeqResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerTimeReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerTimeResp(_message.Message):
    __slots__ = ("serverTime",)
    SERVERTIME_FIELD_NUMBER: _ClassVar[int]
    serverTime: int
    def __init__(self, serverTime: _Optional[int] = ...) -> None: ...

class GetSendMsgStatusReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSendMsgStatusResp(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: int
    def __init__(self, status: _Optional[int] = ...) -> None: ...
