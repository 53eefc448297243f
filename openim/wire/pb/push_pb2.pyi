from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DelUserPushTokenReq(_message.Message):
    __slots__ = ("userID", "platformID")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    platformID: int
    def __init__(self, userID: _Optional[str] = ..., platformID: _Optional[int] = ...) -> None: ...

class DelUserPushTokenResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
