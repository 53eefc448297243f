from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyValues(_message.Message):
    __slots__ = ("key", "values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class SignPart(_message.Message):
    __slots__ = ("partNumber", "url", "query", "header")
    PARTNUMBER_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    partNumber: int
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    def __init__(self, partNumber: _Optional[int] = ..., url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ...) -> None: ...

class AuthSignParts(_message.Message):
    __slots__ = ("url", "query", "header", "parts")
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    parts: _containers.RepeatedCompositeFieldContainer[SignPart]
    def __init__(self, url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., parts: _Optional[_Iterable[_Union[SignPart, _Mapping]]] = ...) -> None: ...

class UploadInfo(_message.Message):
    __slots__ = ("uploadID", "partSize", "sign", "expireTime")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTSIZE_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIME_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    partSize: int
    sign: AuthSignParts
    expireTime: int
    def __init__(self, uploadID: _Optional[str] = ..., partSize: _Optional[int] = ..., sign: _Optional[_Union[AuthSignParts, _Mapping]] = ..., expireTime: _Optional[int] = ...) -> None: ...

class PartLimitReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PartLimitResp(_message.Message):
    __slots__ = ("minPartSize", "maxPartSize", "maxNumSize")
    MINPARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXPARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXNUMSIZE_FIELD_NUMBER: _ClassVar[int]
    minPartSize: int
    maxPartSize: int
    maxNumSize: int
    def __init__(self, minPartSize: _Optional[int] = ..., maxPartSize: _Optional[int] = ..., maxNumSize: _Optional[int] = ...) -> None: ...

class PartSizeReq(_message.Message):
    __slots__ = ("size",)
    SIZE_FIELD_NUMBER: _ClassVar[int]
    size: int
    def __init__(self, size: _Optional[int] = ...) -> None: ...

class PartSizeResp(_message.Message):
    __slots__ = ("size",)
    SIZE_FIELD_NUMBER: _ClassVar[int]
    size: int
    def __init__(self, size: _Optional[int] = ...) -> None: ...

class InitiateMultipartUploadReq(_message.Message):
    __slots__ = ("hash", "size", "partSize", "maxParts", "cause", "name", "contentType", "urlPrefix")
    HASH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PARTSIZE_FIELD_NUMBER: _ClassVar[int]
    MAXPARTS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    hash: str
    size: int
    partSize: int
    maxParts: int
    cause: str
    name: str
    contentType: str
    urlPrefix: str
    def __init__(self, hash: _Optional[str] = ..., size: _Optional[int] = ..., partSize: _Optional[int] = ..., maxParts: _Optional[int] = ..., cause: _Optional[str] = ..., name: _Optional[str] = ..., contentType: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class InitiateMultipartUploadResp(_message.Message):
    __slots__ = ("url", "upload")
    URL_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    url: str
    upload: UploadInfo
    def __init__(self, url: _Optional[str] = ..., upload: _Optional[_Union[UploadInfo, _Mapping]] = ...) -> None: ...

class AuthSignReq(_message.Message):
    __slots__ = ("uploadID", "partNumbers")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTNUMBERS_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    partNumbers: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, uploadID: _Optional[str] = ..., partNumbers: _Optional[_Iterable[int]] = ...) -> None: ...

class AuthSignResp(_message.Message):
    __slots__ = ("url", "query", "header", "parts")
    URL_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    url: str
    query: _containers.RepeatedCompositeFieldContainer[KeyValues]
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    parts: _containers.RepeatedCompositeFieldContainer[SignPart]
    def __init__(self, url: _Optional[str] = ..., query: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., parts: _Optional[_Iterable[_Union[SignPart, _Mapping]]] = ...) -> None: ...

class CompleteMultipartUploadReq(_message.Message):
    __slots__ = ("uploadID", "parts", "name", "contentType", "cause", "urlPrefix")
    UPLOADID_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    uploadID: str
    parts: _containers.RepeatedScalarFieldContainer[str]
    name: str
    contentType: str
    cause: str
    urlPrefix: str
    def __init__(self, uploadID: _Optional[str] = ..., parts: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., contentType: _Optional[str] = ..., cause: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class CompleteMultipartUploadResp(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class AccessURLReq(_message.Message):
    __slots__ = ("name", "query")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    name: str
    query: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., query: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AccessURLResp(_message.Message):
    __slots__ = ("url", "expireTime")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIME_FIELD_NUMBER: _ClassVar[int]
    url: str
    expireTime: int
    def __init__(self, url: _Optional[str] = ..., expireTime: _Optional[int] = ...) -> None: ...

class FcmUpdateTokenReq(_message.Message):
    __slots__ = ("platformID", "fcmToken", "account", "expireTime")
    PLATFORMID_FIELD_NUMBER: _ClassVar[int]
    FCMTOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRETIME_FIELD_NUMBER: _ClassVar[int]
    platformID: int
    fcmToken: str
    account: str
    expireTime: int
    def __init__(self, platformID: _Optional[int] = ..., fcmToken: _Optional[str] = ..., account: _Optional[str] = ..., expireTime: _Optional[int] = ...) -> None: ...

class FcmUpdateTokenResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetAppBadgeReq(_message.Message):
    __slots__ = ("userID", "appUnreadCount")
    USERID_FIELD_NUMBER: _ClassVar[int]
    APPUNREADCOUNT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    appUnreadCount: int
    def __init__(self, userID: _Optional[str] = ..., appUnreadCount: _Optional[int] = ...) -> None: ...

class SetAppBadgeResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FileURL(_message.Message):
    __slots__ = ("filename", "URL")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    filename: str
    URL: str
    def __init__(self, filename: _Optional[str] = ..., URL: _Optional[str] = ...) -> None: ...

class UploadLogsReq(_message.Message):
    __slots__ = ("platform", "fileURLs", "appFramework", "version", "ex", "systemType")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    FILEURLS_FIELD_NUMBER: _ClassVar[int]
    APPFRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    SYSTEMTYPE_FIELD_NUMBER: _ClassVar[int]
    platform: int
    fileURLs: _containers.RepeatedCompositeFieldContainer[FileURL]
    appFramework: str
    version: str
    ex: str
    systemType: str
    def __init__(self, platform: _Optional[int] = ..., fileURLs: _Optional[_Iterable[_Union[FileURL, _Mapping]]] = ..., appFramework: _Optional[str] = ..., version: _Optional[str] = ..., ex: _Optional[str] = ..., systemType: _Optional[str] = ...) -> None: ...

class UploadLogsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteLogsReq(_message.Message):
    __slots__ = ("logIDs",)
    LOGIDS_FIELD_NUMBER: _ClassVar[int]
    logIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, logIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteLogsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchLogsReq(_message.Message):
    __slots__ = ("keyword", "startTime", "endTime", "pagination")
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    STARTTIME_FIELD_NUMBER: _ClassVar[int]
    ENDTIME_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    keyword: str
    startTime: int
    endTime: int
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, keyword: _Optional[str] = ..., startTime: _Optional[int] = ..., endTime: _Optional[int] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class LogInfo(_message.Message):
    __slots__ = ("userID", "platform", "url", "createTime", "nickname", "logID", "filename", "systemType", "ex", "version", "appFramework")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    LOGID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SYSTEMTYPE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    APPFRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    userID: str
    platform: str
    url: str
    createTime: int
    nickname: str
    logID: str
    filename: str
    systemType: str
    ex: str
    version: str
    appFramework: str
    def __init__(self, userID: _Optional[str] = ..., platform: _Optional[str] = ..., url: _Optional[str] = ..., createTime: _Optional[int] = ..., nickname: _Optional[str] = ..., logID: _Optional[str] = ..., filename: _Optional[str] = ..., systemType: _Optional[str] = ..., ex: _Optional[str] = ..., version: _Optional[str] = ..., appFramework: _Optional[str] = ...) -> None: ...

class SearchLogsResp(_message.Message):
    __slots__ = ("logsInfos", "total")
    LOGSINFOS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    logsInfos: _containers.RepeatedCompositeFieldContainer[LogInfo]
    total: int
    def __init__(self, logsInfos: _Optional[_Iterable[_Union[LogInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class InitiateFormDataReq(_message.Message):
    __slots__ = ("name", "size", "contentType", "group", "millisecond", "absolute")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MILLISECOND_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    contentType: str
    group: str
    millisecond: int
    absolute: bool
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., contentType: _Optional[str] = ..., group: _Optional[str] = ..., millisecond: _Optional[int] = ..., absolute: _Optional[bool] = ...) -> None: ...

class InitiateFormDataResp(_message.Message):
    __slots__ = ("id", "url", "file", "header", "formData", "expires", "successCodes")
    class FormDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FORMDATA_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    SUCCESSCODES_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    file: str
    header: _containers.RepeatedCompositeFieldContainer[KeyValues]
    formData: _containers.ScalarMap[str, str]
    expires: int
    successCodes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., file: _Optional[str] = ..., header: _Optional[_Iterable[_Union[KeyValues, _Mapping]]] = ..., formData: _Optional[_Mapping[str, str]] = ..., expires: _Optional[int] = ..., successCodes: _Optional[_Iterable[int]] = ...) -> None: ...

class CompleteFormDataReq(_message.Message):
    __slots__ = ("id", "urlPrefix")
    ID_FIELD_NUMBER: _ClassVar[int]
    URLPREFIX_FIELD_NUMBER: _ClassVar[int]
    id: str
    urlPrefix: str
    def __init__(self, id: _Optional[str] = ..., urlPrefix: _Optional[str] = ...) -> None: ...

class CompleteFormDataResp(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...
