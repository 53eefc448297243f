from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from openim.wire.pb import wrapperspb_pb2 as _wrapperspb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class userRegisterReq(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.UserInfo]
    def __init__(self, users: _Optional[_Iterable[_Union[_sdkws_pb2.UserInfo, _Mapping]]] = ...) -> None: ...

class userRegisterResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class getDesignateUsersReq(_message.Message):
    __slots__ = ("userIDs",)
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class getDesignateUsersResp(_message.Message):
    __slots__ = ("usersInfo",)
    USERSINFO_FIELD_NUMBER: _ClassVar[int]
    usersInfo: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.UserInfo]
    def __init__(self, usersInfo: _Optional[_Iterable[_Union[_sdkws_pb2.UserInfo, _Mapping]]] = ...) -> None: ...

class updateUserInfoReq(_message.Message):
    __slots__ = ("userInfo",)
    USERINFO_FIELD_NUMBER: _ClassVar[int]
    userInfo: _sdkws_pb2.UserInfo
    def __init__(self, userInfo: _Optional[_Union[_sdkws_pb2.UserInfo, _Mapping]] = ...) -> None: ...

class updateUserInfoResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class updateUserInfoExReq(_message.Message):
    __slots__ = ("userInfo",)
    USERINFO_FIELD_NUMBER: _ClassVar[int]
    userInfo: _sdkws_pb2.UserInfoWithEx
    def __init__(self, userInfo: _Optional[_Union[_sdkws_pb2.UserInfoWithEx, _Mapping]] = ...) -> None: ...

class updateUserInfoExResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class getPaginationUsersReq(_message.Message):
    __slots__ = ("pagination", "userID", "nickName")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    userID: str
    nickName: str
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., userID: _Optional[str] = ..., nickName: _Optional[str] = ...) -> None: ...

class getPaginationUsersResp(_message.Message):
    __slots__ = ("total", "users")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    total: int
    users: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.UserInfo]
    def __init__(self, total: _Optional[int] = ..., users: _Optional[_Iterable[_Union[_sdkws_pb2.UserInfo, _Mapping]]] = ...) -> None: ...

class accountCheckReq(_message.Message):
    __slots__ = ("checkUserIDs",)
    CHECKUSERIDS_FIELD_NUMBER: _ClassVar[int]
    checkUserIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, checkUserIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class accountCheckResp(_message.Message):
    __slots__ = ("results",)
    class singleUserStatus(_message.Message):
        __slots__ = ("userID", "accountStatus")
        USERID_FIELD_NUMBER: _ClassVar[int]
        ACCOUNTSTATUS_FIELD_NUMBER: _ClassVar[int]
        userID: str
        accountStatus: int
        def __init__(self, userID: _Optional[str] = ..., accountStatus: _Optional[int] = ...) -> None: ...
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[accountCheckResp.singleUserStatus]
    def __init__(self, results: _Optional[_Iterable[_Union[accountCheckResp.singleUserStatus, _Mapping]]] = ...) -> None: ...

class setGlobalRecvMessageOptReq(_message.Message):
    __slots__ = ("userID", "globalRecvMsgOpt")
    USERID_FIELD_NUMBER: _ClassVar[int]
    GLOBALRECVMSGOPT_FIELD_NUMBER: _ClassVar[int]
    userID: str
    globalRecvMsgOpt: int
    def __init__(self, userID: _Optional[str] = ..., globalRecvMsgOpt: _Optional[int] = ...) -> None: ...

class setGlobalRecvMessageOptResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class onlineStatus(_message.Message):
    __slots__ = ("userID", "status", "platformIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    status: int
    platformIDs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, userID: _Optional[str] = ..., status: _Optional[int] = ..., platformIDs: _Optional[_Iterable[int]] = ...) -> None: ...

class subscribeOrCancelUsersStatusReq(_message.Message):
    __slots__ = ("userID", "userIDs", "genre")
    USERID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    userID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    genre: int
    def __init__(self, userID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ..., genre: _Optional[int] = ...) -> None: ...

class subscribeOrCancelUsersStatusResp(_message.Message):
    __slots__ = ("statusList",)
    STATUSLIST_FIELD_NUMBER: _ClassVar[int]
    statusList: _containers.RepeatedCompositeFieldContainer[onlineStatus]
    def __init__(self, statusList: _Optional[_Iterable[_Union[onlineStatus, _Mapping]]] = ...) -> None: ...

class getSubscribeUsersStatusReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class getSubscribeUsersStatusResp(_message.Message):
    __slots__ = ("statusList",)
    STATUSLIST_FIELD_NUMBER: _ClassVar[int]
    statusList: _containers.RepeatedCompositeFieldContainer[onlineStatus]
    def __init__(self, statusList: _Optional[_Iterable[_Union[onlineStatus, _Mapping]]] = ...) -> None: ...

class getUserStatusReq(_message.Message):
    __slots__ = ("userID", "userIDs")
    USERID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class getUserStatusResp(_message.Message):
    __slots__ = ("statusList",)
    STATUSLIST_FIELD_NUMBER: _ClassVar[int]
    statusList: _containers.RepeatedCompositeFieldContainer[onlineStatus]
    def __init__(self, statusList: _Optional[_Iterable[_Union[onlineStatus, _Mapping]]] = ...) -> None: ...

class getAllUserIDReq(_message.Message):
    __slots__ = ("pagination",)
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class getAllUserIDResp(_message.Message):
    __slots__ = ("total", "userIDs")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    total: int
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, total: _Optional[int] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class userRegisterCountReq(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class userRegisterCountResp(_message.Message):
    __slots__ = ("total", "before", "count")
    class CountEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    total: int
    before: int
    count: _containers.ScalarMap[str, int]
    def __init__(self, total: _Optional[int] = ..., before: _Optional[int] = ..., count: _Optional[_Mapping[str, int]] = ...) -> None: ...

class getUserClientConfigReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class getUserClientConfigResp(_message.Message):
    __slots__ = ("configs",)
    class ConfigsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.ScalarMap[str, str]
    def __init__(self, configs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class setUserClientConfigReq(_message.Message):
    __slots__ = ("userID", "configs")
    class ConfigsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USERID_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    configs: _containers.ScalarMap[str, str]
    def __init__(self, userID: _Optional[str] = ..., configs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class setUserClientConfigResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class delUserClientConfigReq(_message.Message):
    __slots__ = ("userID", "keys")
    USERID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userID: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class delUserClientConfigResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class pageUserClientConfigReq(_message.Message):
    __slots__ = ("userID", "key", "pagination")
    USERID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    key: str
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, userID: _Optional[str] = ..., key: _Optional[str] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class clientConfig(_message.Message):
    __slots__ = ("key", "userID", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    userID: str
    value: str
    def __init__(self, key: _Optional[str] = ..., userID: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class pageUserClientConfigResp(_message.Message):
    __slots__ = ("total", "configs")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    total: int
    configs: _containers.RepeatedCompositeFieldContainer[clientConfig]
    def __init__(self, total: _Optional[int] = ..., configs: _Optional[_Iterable[_Union[clientConfig, _Mapping]]] = ...) -> None: ...

class processUserCommandAddReq(_message.Message):
    __slots__ = ("userID", "type", "uuid", "value", "ex")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    userID: str
    type: int
    uuid: str
    value: _wrapperspb_pb2.StringValue
    ex: _wrapperspb_pb2.StringValue
    def __init__(self, userID: _Optional[str] = ..., type: _Optional[int] = ..., uuid: _Optional[str] = ..., value: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ...) -> None: ...

class processUserCommandAddResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class processUserCommandDeleteReq(_message.Message):
    __slots__ = ("userID", "type", "uuid")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    type: int
    uuid: str
    def __init__(self, userID: _Optional[str] = ..., type: _Optional[int] = ..., uuid: _Optional[str] = ...) -> None: ...

class processUserCommandDeleteResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class processUserCommandUpdateReq(_message.Message):
    __slots__ = ("userID", "type", "uuid", "value", "ex")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    userID: str
    type: int
    uuid: str
    value: _wrapperspb_pb2.StringValue
    ex: _wrapperspb_pb2.StringValue
    def __init__(self, userID: _Optional[str] = ..., type: _Optional[int] = ..., uuid: _Optional[str] = ..., value: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ...) -> None: ...

class processUserCommandUpdateResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class processUserCommandGetReq(_message.Message):
    __slots__ = ("userID", "type")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    userID: str
    type: int
    def __init__(self, userID: _Optional[str] = ..., type: _Optional[int] = ...) -> None: ...

class CommandInfoResp(_message.Message):
    __slots__ = ("type", "createTime", "uuid", "value", "ex")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    type: int
    createTime: int
    uuid: str
    value: str
    ex: str
    def __init__(self, type: _Optional[int] = ..., createTime: _Optional[int] = ..., uuid: _Optional[str] = ..., value: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class processUserCommandGetResp(_message.Message):
    __slots__ = ("CommandResp",)
    COMMANDRESP_FIELD_NUMBER: _ClassVar[int]
    CommandResp: _containers.RepeatedCompositeFieldContainer[CommandInfoResp]
    def __init__(self, CommandResp: _Optional[_Iterable[_Union[CommandInfoResp, _Mapping]]] = ...) -> None: ...

class processUserCommandGetAllReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class AllCommandInfoResp(_message.Message):
    __slots__ = ("type", "createTime", "uuid", "value", "ex")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    type: int
    createTime: int
    uuid: str
    value: str
    ex: str
    def __init__(self, type: _Optional[int] = ..., createTime: _Optional[int] = ..., uuid: _Optional[str] = ..., value: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class processUserCommandGetAllResp(_message.Message):
    __slots__ = ("CommandResp",)
    COMMANDRESP_FIELD_NUMBER: _ClassVar[int]
    CommandResp: _containers.RepeatedCompositeFieldContainer[AllCommandInfoResp]
    def __init__(self, CommandResp: _Optional[_Iterable[_Union[AllCommandInfoResp, _Mapping]]] = ...) -> None: ...

class addNotificationAccountReq(_message.Message):
    __slots__ = ("userID", "nickName", "faceURL", "appMangerLevel")
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    APPMANGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    userID: str
    nickName: str
    faceURL: str
    appMangerLevel: int
    def __init__(self, userID: _Optional[str] = ..., nickName: _Optional[str] = ..., faceURL: _Optional[str] = ..., appMangerLevel: _Optional[int] = ...) -> None: ...

class addNotificationAccountResp(_message.Message):
    __slots__ = ("userID", "faceURL", "nickName", "appMangerLevel")
    USERID_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    APPMANGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    userID: str
    faceURL: str
    nickName: str
    appMangerLevel: int
    def __init__(self, userID: _Optional[str] = ..., faceURL: _Optional[str] = ..., nickName: _Optional[str] = ..., appMangerLevel: _Optional[int] = ...) -> None: ...

class updateNotificationAccountInfoReq(_message.Message):
    __slots__ = ("userID", "faceURL", "nickName")
    USERID_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    userID: str
    faceURL: str
    nickName: str
    def __init__(self, userID: _Optional[str] = ..., faceURL: _Optional[str] = ..., nickName: _Optional[str] = ...) -> None: ...

class updateNotificationAccountInfoResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class searchNotificationAccountReq(_message.Message):
    __slots__ = ("keyword", "appManagerLevel", "pagination")
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    APPMANAGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    keyword: str
    appManagerLevel: int
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, keyword: _Optional[str] = ..., appManagerLevel: _Optional[int] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class notificationAccountInfo(_message.Message):
    __slots__ = ("userID", "faceURL", "nickName", "appMangerLevel")
    USERID_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    APPMANGERLEVEL_FIELD_NUMBER: _ClassVar[int]
    userID: str
    faceURL: str
    nickName: str
    appMangerLevel: int
    def __init__(self, userID: _Optional[str] = ..., faceURL: _Optional[str] = ..., nickName: _Optional[str] = ..., appMangerLevel: _Optional[int] = ...) -> None: ...

class searchNotificationAccountResp(_message.Message):
    __slots__ = ("total", "notificationAccounts")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    notificationAccounts: _containers.RepeatedCompositeFieldContainer[notificationAccountInfo]
    def __init__(self, total: _Optional[int] = ..., notificationAccounts: _Optional[_Iterable[_Union[notificationAccountInfo, _Mapping]]] = ...) -> None: ...
