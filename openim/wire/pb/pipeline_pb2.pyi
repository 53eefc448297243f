from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferItem(_message.Message):
    __slots__ = ("request_id", "origin_node", "origin_conn", "operation_id", "conversation_id", "conversation_type", "msg", "owners", "reader_user_id", "recipients", "send_id", "recv_id", "group_id", "client_msg_id", "server_msg_id", "send_time", "session_type", "content_type")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_NODE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_CONN_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    OWNERS_FIELD_NUMBER: _ClassVar[int]
    READER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    RECV_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    origin_node: str
    origin_conn: str
    operation_id: str
    conversation_id: str
    conversation_type: int
    msg: bytes
    owners: _containers.RepeatedScalarFieldContainer[str]
    reader_user_id: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    send_id: str
    recv_id: str
    group_id: str
    client_msg_id: str
    server_msg_id: str
    send_time: int
    session_type: int
    content_type: int
    def __init__(self, request_id: _Optional[int] = ..., origin_node: _Optional[str] = ..., origin_conn: _Optional[str] = ..., operation_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., conversation_type: _Optional[int] = ..., msg: _Optional[bytes] = ..., owners: _Optional[_Iterable[str]] = ..., reader_user_id: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., send_id: _Optional[str] = ..., recv_id: _Optional[str] = ..., group_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., server_msg_id: _Optional[str] = ..., send_time: _Optional[int] = ..., session_type: _Optional[int] = ..., content_type: _Optional[int] = ...) -> None: ...

class SendReply(_message.Message):
    __slots__ = ("request_id", "seq", "server_msg_id", "send_time", "duplicate", "err_code", "err_detail")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SERVER_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERR_DETAIL_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    seq: int
    server_msg_id: str
    send_time: int
    duplicate: bool
    err_code: int
    err_detail: str
    def __init__(self, request_id: _Optional[int] = ..., seq: _Optional[int] = ..., server_msg_id: _Optional[str] = ..., send_time: _Optional[int] = ..., duplicate: _Optional[bool] = ..., err_code: _Optional[int] = ..., err_detail: _Optional[str] = ...) -> None: ...

class PushItem(_message.Message):
    __slots__ = ("operation_id", "conversation_id", "msg", "exclude_conn", "recipients")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_CONN_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    conversation_id: str
    msg: bytes
    exclude_conn: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, operation_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., msg: _Optional[bytes] = ..., exclude_conn: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ...) -> None: ...

class SendReplies(_message.Message):
    __slots__ = ("replies",)
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    replies: _containers.RepeatedCompositeFieldContainer[SendReply]
    def __init__(self, replies: _Optional[_Iterable[_Union[SendReply, _Mapping]]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("frame", "user_ids", "exclude_conn")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_CONN_FIELD_NUMBER: _ClassVar[int]
    frame: bytes
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    exclude_conn: str
    def __init__(self, frame: _Optional[bytes] = ..., user_ids: _Optional[_Iterable[str]] = ..., exclude_conn: _Optional[str] = ...) -> None: ...

class Deliveries(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, items: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class ItemBatch(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, items: _Optional[_Iterable[bytes]] = ...) -> None: ...
