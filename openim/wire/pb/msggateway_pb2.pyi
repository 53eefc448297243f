from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetUsersOnlineStatusReq(_message.Message):
    __slots__ = ("userIDs",)
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetUsersOnlineStatusResp(_message.Message):
    __slots__ = ("successResult", "failedResult")
    class SuccessDetail(_message.Message):
        __slots__ = ("platformID", "connID", "isBackground", "token")
        PLATFORMID_FIELD_NUMBER: _ClassVar[int]
        CONNID_FIELD_NUMBER: _ClassVar[int]
        ISBACKGROUND_FIELD_NUMBER: _ClassVar[int]
        TOKEN_FIELD_NUMBER: _ClassVar[int]
        platformID: int
        connID: str
        isBackground: bool
        token: str
        def __init__(self, platformID: _Optional[int] = ..., connID: _Optional[str] = ..., isBackground: _Optional[bool] = ..., token: _Optional[str] = ...) -> None: ...
    class FailedDetail(_message.Message):
        __slots__ = ("userID",)
        USERID_FIELD_NUMBER: _ClassVar[int]
        userID: str
        def __init__(self, userID: _Optional[str] = ...) -> None: ...
    class SuccessResult(_message.Message):
        __slots__ = ("userID", "status", "detailPlatformStatus")
        USERID_FIELD_NUMBER: _ClassVar[int]
        STATUS_FIELD_NUMBER: _ClassVar[int]
        DETAILPLATFORMSTATUS_FIELD_NUMBER: _ClassVar[int]
        userID: str
        status: int
        detailPlatformStatus: _containers.RepeatedCompositeFieldContainer[GetUsersOnlineStatusResp.SuccessDetail]
        def __init__(self, userID: _Optional[str] = ..., status: _Optional[int] = ..., detailPlatformStatus: _Optional[_Iterable[_Union[GetUsersOnlineStatusResp.SuccessDetail, _Mapping]]] = ...) -> None: ...
    SUCCESSRESULT_FIELD_NUMBER: _ClassVar[int]
    FAILEDRESULT_FIELD_NUMBER: _ClassVar[int]
    successResult: _containers.RepeatedCompositeFieldContainer[GetUsersOnlineStatusResp.SuccessResult]
    failedResult: _containers.RepeatedCompositeFieldContainer[GetUsersOnlineStatusResp.FailedDetail]
    def __init__(self, successResult: _Optional[_Iterable[_Union[GetUsersOnlineStatusResp.SuccessResult, _Mapping]]] = ..., failedResult: _Optional[_Iterable[_Union[GetUsersOnlineStatusResp.FailedDetail, _Mapping]]] = ...) -> None: ...

class SinglePlatformToken(_message.Message):
    __slots__ = ("token", "total", "platformID")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    token: _containers.RepeatedScalarFieldContainer[str]
    total: int
    platformID: int
    def __init__(self, token: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ..., platformID: _Optional[int] = ...) -> None: ...

class SingleDetail(_message.Message):
    __slots__ = ("userID", "status", "singlePlatformToken")
    USERID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SINGLEPLATFORMTOKEN_FIELD_NUMBER: _ClassVar[int]
    userID: str
    status: int
    singlePlatformToken: _containers.RepeatedCompositeFieldContainer[SinglePlatformToken]
    def __init__(self, userID: _Optional[str] = ..., status: _Optional[int] = ..., singlePlatformToken: _Optional[_Iterable[_Union[SinglePlatformToken, _Mapping]]] = ...) -> None: ...

class GetUsersOnlineTokenDetailResp(_message.Message):
    __slots__ = ("successResult",)
    SUCCESSRESULT_FIELD_NUMBER: _ClassVar[int]
    successResult: _containers.RepeatedCompositeFieldContainer[SingleDetail]
    def __init__(self, successResult: _Optional[_Iterable[_Union[SingleDetail, _Mapping]]] = ...) -> None: ...
