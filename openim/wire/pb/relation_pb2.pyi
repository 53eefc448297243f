from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from openim.wire.pb import wrapperspb_pb2 as _wrapperspb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FriendInfoOnly(_message.Message):
    __slots__ = ("ownerUserID", "friendUserID", "remark", "createTime", "addSource", "operatorUserID", "ex", "isPinned")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    CREATETIME_FIELD_NUMBER: _ClassVar[int]
    ADDSOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATORUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserID: str
    remark: str
    createTime: int
    addSource: int
    operatorUserID: str
    ex: str
    isPinned: bool
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserID: _Optional[str] = ..., remark: _Optional[str] = ..., createTime: _Optional[int] = ..., addSource: _Optional[int] = ..., operatorUserID: _Optional[str] = ..., ex: _Optional[str] = ..., isPinned: _Optional[bool] = ...) -> None: ...

class applyToAddFriendReq(_message.Message):
    __slots__ = ("fromUserID", "toUserID", "reqMsg", "ex")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    REQMSG_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    reqMsg: str
    ex: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ..., reqMsg: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class applyToAddFriendResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class respondFriendApplyReq(_message.Message):
    __slots__ = ("fromUserID", "toUserID", "handleResult", "handleMsg")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULT_FIELD_NUMBER: _ClassVar[int]
    HANDLEMSG_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    handleResult: int
    handleMsg: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ..., handleResult: _Optional[int] = ..., handleMsg: _Optional[str] = ...) -> None: ...

class respondFriendApplyResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class deleteFriendReq(_message.Message):
    __slots__ = ("ownerUserID", "friendUserID")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERID_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserID: str
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserID: _Optional[str] = ...) -> None: ...

class deleteFriendResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class isFriendReq(_message.Message):
    __slots__ = ("userID1", "userID2")
    USERID1_FIELD_NUMBER: _ClassVar[int]
    USERID2_FIELD_NUMBER: _ClassVar[int]
    userID1: str
    userID2: str
    def __init__(self, userID1: _Optional[str] = ..., userID2: _Optional[str] = ...) -> None: ...

class isFriendResp(_message.Message):
    __slots__ = ("inUser1Friends", "inUser2Friends")
    INUSER1FRIENDS_FIELD_NUMBER: _ClassVar[int]
    INUSER2FRIENDS_FIELD_NUMBER: _ClassVar[int]
    inUser1Friends: bool
    inUser2Friends: bool
    def __init__(self, inUser1Friends: _Optional[bool] = ..., inUser2Friends: _Optional[bool] = ...) -> None: ...

class isBlackReq(_message.Message):
    __slots__ = ("userID1", "userID2")
    USERID1_FIELD_NUMBER: _ClassVar[int]
    USERID2_FIELD_NUMBER: _ClassVar[int]
    userID1: str
    userID2: str
    def __init__(self, userID1: _Optional[str] = ..., userID2: _Optional[str] = ...) -> None: ...

class isBlackResp(_message.Message):
    __slots__ = ("inUser1Blacks", "inUser2Blacks")
    INUSER1BLACKS_FIELD_NUMBER: _ClassVar[int]
    INUSER2BLACKS_FIELD_NUMBER: _ClassVar[int]
    inUser1Blacks: bool
    inUser2Blacks: bool
    def __init__(self, inUser1Blacks: _Optional[bool] = ..., inUser2Blacks: _Optional[bool] = ...) -> None: ...

class getPaginationFriendsReq(_message.Message):
    __slots__ = ("pagination", "userID")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    userID: str
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., userID: _Optional[str] = ...) -> None: ...

class getPaginationFriendsResp(_message.Message):
    __slots__ = ("friendsInfo", "total")
    FRIENDSINFO_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    friendsInfo: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendInfo]
    total: int
    def __init__(self, friendsInfo: _Optional[_Iterable[_Union[_sdkws_pb2.FriendInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class getDesignatedFriendsReq(_message.Message):
    __slots__ = ("ownerUserID", "friendUserIDs")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class getDesignatedFriendsResp(_message.Message):
    __slots__ = ("friendsInfo",)
    FRIENDSINFO_FIELD_NUMBER: _ClassVar[int]
    friendsInfo: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendInfo]
    def __init__(self, friendsInfo: _Optional[_Iterable[_Union[_sdkws_pb2.FriendInfo, _Mapping]]] = ...) -> None: ...

class getPaginationFriendsApplyToReq(_message.Message):
    __slots__ = ("userID", "pagination", "handleResults")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULTS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    pagination: _sdkws_pb2.RequestPagination
    handleResults: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, userID: _Optional[str] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., handleResults: _Optional[_Iterable[int]] = ...) -> None: ...

class getPaginationFriendsApplyToResp(_message.Message):
    __slots__ = ("FriendRequests", "total")
    FRIENDREQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FriendRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendRequest]
    total: int
    def __init__(self, FriendRequests: _Optional[_Iterable[_Union[_sdkws_pb2.FriendRequest, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class getPaginationFriendsApplyFromReq(_message.Message):
    __slots__ = ("userID", "pagination", "handleResults")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULTS_FIELD_NUMBER: _ClassVar[int]
    userID: str
    pagination: _sdkws_pb2.RequestPagination
    handleResults: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, userID: _Optional[str] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., handleResults: _Optional[_Iterable[int]] = ...) -> None: ...

class getPaginationFriendsApplyFromResp(_message.Message):
    __slots__ = ("friendRequests", "total")
    FRIENDREQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    friendRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendRequest]
    total: int
    def __init__(self, friendRequests: _Optional[_Iterable[_Union[_sdkws_pb2.FriendRequest, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class getDesignatedFriendsApplyReq(_message.Message):
    __slots__ = ("fromUserID", "toUserID")
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    TOUSERID_FIELD_NUMBER: _ClassVar[int]
    fromUserID: str
    toUserID: str
    def __init__(self, fromUserID: _Optional[str] = ..., toUserID: _Optional[str] = ...) -> None: ...

class getDesignatedFriendsApplyResp(_message.Message):
    __slots__ = ("friendRequests",)
    FRIENDREQUESTS_FIELD_NUMBER: _ClassVar[int]
    friendRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendRequest]
    def __init__(self, friendRequests: _Optional[_Iterable[_Union[_sdkws_pb2.FriendRequest, _Mapping]]] = ...) -> None: ...

class getSelfUnhandledApplyCountReq(_message.Message):
    __slots__ = ("userID", "time")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    userID: str
    time: int
    def __init__(self, userID: _Optional[str] = ..., time: _Optional[int] = ...) -> None: ...

class getSelfUnhandledApplyCountResp(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class updateFriendsReq(_message.Message):
    __slots__ = ("ownerUserID", "friendUserIDs", "isPinned", "remark", "ex")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    ISPINNED_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserIDs: _containers.RepeatedScalarFieldContainer[str]
    isPinned: _wrapperspb_pb2.BoolValue
    remark: _wrapperspb_pb2.StringValue
    ex: _wrapperspb_pb2.StringValue
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserIDs: _Optional[_Iterable[str]] = ..., isPinned: _Optional[_Union[_wrapperspb_pb2.BoolValue, _Mapping]] = ..., remark: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ...) -> None: ...

class updateFriendsResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class setFriendRemarkReq(_message.Message):
    __slots__ = ("ownerUserID", "friendUserID", "remark")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserID: str
    remark: str
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserID: _Optional[str] = ..., remark: _Optional[str] = ...) -> None: ...

class setFriendRemarkResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class addBlackReq(_message.Message):
    __slots__ = ("ownerUserID", "blackUserID", "ex")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    BLACKUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    blackUserID: str
    ex: str
    def __init__(self, ownerUserID: _Optional[str] = ..., blackUserID: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class addBlackResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class removeBlackReq(_message.Message):
    __slots__ = ("ownerUserID", "blackUserID")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    BLACKUSERID_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    blackUserID: str
    def __init__(self, ownerUserID: _Optional[str] = ..., blackUserID: _Optional[str] = ...) -> None: ...

class removeBlackResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class getPaginationBlacksReq(_message.Message):
    __slots__ = ("userID", "pagination")
    USERID_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    pagination: _sdkws_pb2.RequestPagination
    def __init__(self, userID: _Optional[str] = ..., pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ...) -> None: ...

class getPaginationBlacksResp(_message.Message):
    __slots__ = ("blacks", "total")
    BLACKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    blacks: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.BlackInfo]
    total: int
    def __init__(self, blacks: _Optional[_Iterable[_Union[_sdkws_pb2.BlackInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class getIncrementalBlacksReq(_message.Message):
    __slots__ = ("userID", "versionID", "version")
    USERID_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    versionID: str
    version: int
    def __init__(self, userID: _Optional[str] = ..., versionID: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class getIncrementalBlacksResp(_message.Message):
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
    insert: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.BlackInfo]
    update: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.BlackInfo]
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., full: _Optional[bool] = ..., delete: _Optional[_Iterable[str]] = ..., insert: _Optional[_Iterable[_Union[_sdkws_pb2.BlackInfo, _Mapping]]] = ..., update: _Optional[_Iterable[_Union[_sdkws_pb2.BlackInfo, _Mapping]]] = ...) -> None: ...

class GetSpecifiedBlacksReq(_message.Message):
    __slots__ = ("ownerUserID", "userIDList")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    USERIDLIST_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    userIDList: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., userIDList: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSpecifiedBlacksResp(_message.Message):
    __slots__ = ("blacks", "total")
    BLACKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    blacks: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.BlackInfo]
    total: int
    def __init__(self, blacks: _Optional[_Iterable[_Union[_sdkws_pb2.BlackInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class importFriendReq(_message.Message):
    __slots__ = ("ownerUserID", "friendUserIDs")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    FRIENDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    friendUserIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., friendUserIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class importFriendResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class getFriendIDsReq(_message.Message):
    __slots__ = ("userID",)
    USERID_FIELD_NUMBER: _ClassVar[int]
    userID: str
    def __init__(self, userID: _Optional[str] = ...) -> None: ...

class getFriendIDsResp(_message.Message):
    __slots__ = ("friendIDs",)
    FRIENDIDS_FIELD_NUMBER: _ClassVar[int]
    friendIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, friendIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class getSpecifiedFriendsInfoReq(_message.Message):
    __slots__ = ("ownerUserID", "userIDList")
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    USERIDLIST_FIELD_NUMBER: _ClassVar[int]
    ownerUserID: str
    userIDList: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ownerUserID: _Optional[str] = ..., userIDList: _Optional[_Iterable[str]] = ...) -> None: ...

class getSpecifiedFriendsInfoInfo(_message.Message):
    __slots__ = ("userInfo", "friendInfo", "blackInfo")
    USERINFO_FIELD_NUMBER: _ClassVar[int]
    FRIENDINFO_FIELD_NUMBER: _ClassVar[int]
    BLACKINFO_FIELD_NUMBER: _ClassVar[int]
    userInfo: _sdkws_pb2.UserInfo
    friendInfo: _sdkws_pb2.FriendInfo
    blackInfo: _sdkws_pb2.BlackInfo
    def __init__(self, userInfo: _Optional[_Union[_sdkws_pb2.UserInfo, _Mapping]] = ..., friendInfo: _Optional[_Union[_sdkws_pb2.FriendInfo, _Mapping]] = ..., blackInfo: _Optional[_Union[_sdkws_pb2.BlackInfo, _Mapping]] = ...) -> None: ...

class getSpecifiedFriendsInfoResp(_message.Message):
    __slots__ = ("infos",)
    INFOS_FIELD_NUMBER: _ClassVar[int]
    infos: _containers.RepeatedCompositeFieldContainer[getSpecifiedFriendsInfoInfo]
    def __init__(self, infos: _Optional[_Iterable[_Union[getSpecifiedFriendsInfoInfo, _Mapping]]] = ...) -> None: ...

class getIncrementalFriendsReq(_message.Message):
    __slots__ = ("userID", "versionID", "version")
    USERID_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    versionID: str
    version: int
    def __init__(self, userID: _Optional[str] = ..., versionID: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class getIncrementalFriendsResp(_message.Message):
    __slots__ = ("version", "versionID", "full", "delete", "insert", "update", "sortVersion")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    INSERT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    SORTVERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    full: bool
    delete: _containers.RepeatedScalarFieldContainer[str]
    insert: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendInfo]
    update: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.FriendInfo]
    sortVersion: int
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., full: _Optional[bool] = ..., delete: _Optional[_Iterable[str]] = ..., insert: _Optional[_Iterable[_Union[_sdkws_pb2.FriendInfo, _Mapping]]] = ..., update: _Optional[_Iterable[_Union[_sdkws_pb2.FriendInfo, _Mapping]]] = ..., sortVersion: _Optional[int] = ...) -> None: ...

class getFullFriendUserIDsReq(_message.Message):
    __slots__ = ("idHash", "userID")
    IDHASH_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    idHash: int
    userID: str
    def __init__(self, idHash: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class getFullFriendUserIDsResp(_message.Message):
    __slots__ = ("version", "versionID", "equal", "userIDs")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    EQUAL_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    equal: bool
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., equal: _Optional[bool] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...
