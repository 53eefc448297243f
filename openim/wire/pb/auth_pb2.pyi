from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class getAdminTokenReq(_message.Message):
    __slots__ = ("secret", "userID")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    secret: str
    userID: str
    def __init__(self, secret: _Optional[str] = ..., userID: _Optional[str] = ...) -> None: ...

class getAdminTokenResp(_message.Message):
    __slots__ = ("token", "expireTimeSeconds")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIMESECONDS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expireTimeSeconds: int
    def __init__(self, token: _Optional[str] = ..., expireTimeSeconds: _Optional[int] = ...) -> None: ...

class getUserTokenReq(_message.Message):
    __slots__ = ("platformID", "userID")
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    platformID: int
    userID: str
    def __init__(self, platformID: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class getUserTokenResp(_message.Message):
    __slots__ = ("token", "expireTimeSeconds")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIMESECONDS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expireTimeSeconds: int
    def __init__(self, token: _Optional[str] = ..., expireTimeSeconds: _Optional[int] = ...) -> None: ...

class parseTokenReq(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class parseTokenResp(_message.Message):
    __slots__ = ("userID", "platformID", "expireTimeSeconds")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIMESECONDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    platformID: int
    expireTimeSeconds: int
    def __init__(self, userID: _Optional[str] = ..., platformID: _Optional[int] = ..., expireTimeSeconds: _Optional[int] = ...) -> None: ...

class forceLogoutReq(_message.Message):
    __slots__ = ("platformID", "userID")
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    platformID: int
    userID: str
    def __init__(self, platformID: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class forceLogoutResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
