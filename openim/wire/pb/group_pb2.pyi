from openim.wire.pb import sdkws_pb2 as _sdkws_pb2
from openim.wire.pb import wrapperspb_pb2 as _wrapperspb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateGroupReq(_message.Message):
    __slots__ = ("memberUserIDs", "groupInfo", "adminUserIDs", "ownerUserID", "sendMessage")
    MEMBERUSERIDS_FIELD_NUMBER: _ClassVar[int]
    GROUPINFO_FIELD_NUMBER: _ClassVar[int]
    ADMINUSERIDS_FIELD_NUMBER: _ClassVar[int]
    OWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    SENDMESSAGE_FIELD_NUMBER: _ClassVar[int]
    memberUserIDs: _containers.RepeatedScalarFieldContainer[str]
    groupInfo: _sdkws_pb2.GroupInfo
    adminUserIDs: _containers.RepeatedScalarFieldContainer[str]
    ownerUserID: str
    sendMessage: bool
    def __init__(self, memberUserIDs: _Optional[_Iterable[str]] = ..., groupInfo: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ..., adminUserIDs: _Optional[_Iterable[str]] = ..., ownerUserID: _Optional[str] = ..., sendMessage: _Optional[bool] = ...) -> None: ...

class CreateGroupResp(_message.Message):
    __slots__ = ("groupInfo",)
    GROUPINFO_FIELD_NUMBER: _ClassVar[int]
    groupInfo: _sdkws_pb2.GroupInfo
    def __init__(self, groupInfo: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ...) -> None: ...

class GetGroupsInfoReq(_message.Message):
    __slots__ = ("groupIDs",)
    GROUPIDS_FIELD_NUMBER: _ClassVar[int]
    groupIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groupIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetGroupsInfoResp(_message.Message):
    __slots__ = ("groupInfos",)
    GROUPINFOS_FIELD_NUMBER: _ClassVar[int]
    groupInfos: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupInfo]
    def __init__(self, groupInfos: _Optional[_Iterable[_Union[_sdkws_pb2.GroupInfo, _Mapping]]] = ...) -> None: ...

class SetGroupInfoReq(_message.Message):
    __slots__ = ("groupInfoForSet",)
    GROUPINFOFORSET_FIELD_NUMBER: _ClassVar[int]
    groupInfoForSet: _sdkws_pb2.GroupInfoForSet
    def __init__(self, groupInfoForSet: _Optional[_Union[_sdkws_pb2.GroupInfoForSet, _Mapping]] = ...) -> None: ...

class SetGroupInfoResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetGroupInfoExReq(_message.Message):
    __slots__ = ("groupID", "groupName", "notification", "introduction", "faceURL", "ex", "needVerification", "lookMemberInfo", "applyMemberFriend")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    NEEDVERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOKMEMBERINFO_FIELD_NUMBER: _ClassVar[int]
    APPLYMEMBERFRIEND_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    groupName: _wrapperspb_pb2.StringValue
    notification: _wrapperspb_pb2.StringValue
    introduction: _wrapperspb_pb2.StringValue
    faceURL: _wrapperspb_pb2.StringValue
    ex: _wrapperspb_pb2.StringValue
    needVerification: _wrapperspb_pb2.Int32Value
    lookMemberInfo: _wrapperspb_pb2.Int32Value
    applyMemberFriend: _wrapperspb_pb2.Int32Value
    def __init__(self, groupID: _Optional[str] = ..., groupName: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., notification: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., introduction: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., faceURL: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., needVerification: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., lookMemberInfo: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., applyMemberFriend: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ...) -> None: ...

class SetGroupInfoExResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetGroupApplicationListReq(_message.Message):
    __slots__ = ("pagination", "fromUserID", "groupIDs", "handleResults")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    GROUPIDS_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULTS_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    fromUserID: str
    groupIDs: _containers.RepeatedScalarFieldContainer[str]
    handleResults: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., fromUserID: _Optional[str] = ..., groupIDs: _Optional[_Iterable[str]] = ..., handleResults: _Optional[_Iterable[int]] = ...) -> None: ...

class GetGroupApplicationListResp(_message.Message):
    __slots__ = ("total", "groupRequests")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPREQUESTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groupRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupRequest]
    def __init__(self, total: _Optional[int] = ..., groupRequests: _Optional[_Iterable[_Union[_sdkws_pb2.GroupRequest, _Mapping]]] = ...) -> None: ...

class GetGroupApplicationUnhandledCountReq(_message.Message):
    __slots__ = ("userID", "time")
    USERID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    userID: str
    time: int
    def __init__(self, userID: _Optional[str] = ..., time: _Optional[int] = ...) -> None: ...

class GetGroupApplicationUnhandledCountResp(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class GetUserReqApplicationListReq(_message.Message):
    __slots__ = ("pagination", "userID", "groupIDs", "handleResults")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    GROUPIDS_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULTS_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    userID: str
    groupIDs: _containers.RepeatedScalarFieldContainer[str]
    handleResults: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., userID: _Optional[str] = ..., groupIDs: _Optional[_Iterable[str]] = ..., handleResults: _Optional[_Iterable[int]] = ...) -> None: ...

class GetUserReqApplicationListResp(_message.Message):
    __slots__ = ("total", "groupRequests")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPREQUESTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groupRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupRequest]
    def __init__(self, total: _Optional[int] = ..., groupRequests: _Optional[_Iterable[_Union[_sdkws_pb2.GroupRequest, _Mapping]]] = ...) -> None: ...

class GetSpecifiedUserGroupRequestInfoReq(_message.Message):
    __slots__ = ("groupID", "userID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ...) -> None: ...

class GetSpecifiedUserGroupRequestInfoResp(_message.Message):
    __slots__ = ("total", "groupRequests")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPREQUESTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groupRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupRequest]
    def __init__(self, total: _Optional[int] = ..., groupRequests: _Optional[_Iterable[_Union[_sdkws_pb2.GroupRequest, _Mapping]]] = ...) -> None: ...

class getGroupUsersReqApplicationListReq(_message.Message):
    __slots__ = ("groupID", "userIDs")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groupID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class getGroupUsersReqApplicationListResp(_message.Message):
    __slots__ = ("total", "groupRequests")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPREQUESTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groupRequests: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupRequest]
    def __init__(self, total: _Optional[int] = ..., groupRequests: _Optional[_Iterable[_Union[_sdkws_pb2.GroupRequest, _Mapping]]] = ...) -> None: ...

class TransferGroupOwnerReq(_message.Message):
    __slots__ = ("groupID", "oldOwnerUserID", "newOwnerUserID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    OLDOWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    NEWOWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    oldOwnerUserID: str
    newOwnerUserID: str
    def __init__(self, groupID: _Optional[str] = ..., oldOwnerUserID: _Optional[str] = ..., newOwnerUserID: _Optional[str] = ...) -> None: ...

class TransferGroupOwnerResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JoinGroupReq(_message.Message):
    __slots__ = ("groupID", "reqMessage", "joinSource", "inviterUserID", "ex")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    REQMESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOINSOURCE_FIELD_NUMBER: _ClassVar[int]
    INVITERUSERID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    reqMessage: str
    joinSource: int
    inviterUserID: str
    ex: str
    def __init__(self, groupID: _Optional[str] = ..., reqMessage: _Optional[str] = ..., joinSource: _Optional[int] = ..., inviterUserID: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class JoinGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GroupApplicationResponseReq(_message.Message):
    __slots__ = ("groupID", "fromUserID", "handledMsg", "handleResult")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    HANDLEDMSG_FIELD_NUMBER: _ClassVar[int]
    HANDLERESULT_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    fromUserID: str
    handledMsg: str
    handleResult: int
    def __init__(self, groupID: _Optional[str] = ..., fromUserID: _Optional[str] = ..., handledMsg: _Optional[str] = ..., handleResult: _Optional[int] = ...) -> None: ...

class GroupApplicationResponseResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QuitGroupReq(_message.Message):
    __slots__ = ("groupID", "userID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ...) -> None: ...

class QuitGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetGroupMemberListReq(_message.Message):
    __slots__ = ("pagination", "groupID", "filter", "keyword")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    groupID: str
    filter: int
    keyword: str
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., groupID: _Optional[str] = ..., filter: _Optional[int] = ..., keyword: _Optional[str] = ...) -> None: ...

class GetGroupMemberListResp(_message.Message):
    __slots__ = ("total", "members")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    total: int
    members: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupMemberFullInfo]
    def __init__(self, total: _Optional[int] = ..., members: _Optional[_Iterable[_Union[_sdkws_pb2.GroupMemberFullInfo, _Mapping]]] = ...) -> None: ...

class GetGroupMembersInfoReq(_message.Message):
    __slots__ = ("groupID", "userIDs")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groupID: _Optional[str] = ..., userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GetGroupMembersInfoResp(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupMemberFullInfo]
    def __init__(self, members: _Optional[_Iterable[_Union[_sdkws_pb2.GroupMemberFullInfo, _Mapping]]] = ...) -> None: ...

class KickGroupMemberReq(_message.Message):
    __slots__ = ("groupID", "kickedUserIDs", "reason", "sendMessage")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    KICKEDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SENDMESSAGE_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    kickedUserIDs: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    sendMessage: bool
    def __init__(self, groupID: _Optional[str] = ..., kickedUserIDs: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., sendMessage: _Optional[bool] = ...) -> None: ...

class KickGroupMemberResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetJoinedGroupListReq(_message.Message):
    __slots__ = ("pagination", "fromUserID")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    FROMUSERID_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    fromUserID: str
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., fromUserID: _Optional[str] = ...) -> None: ...

class GetJoinedGroupListResp(_message.Message):
    __slots__ = ("total", "groups")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groups: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupInfo]
    def __init__(self, total: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[_sdkws_pb2.GroupInfo, _Mapping]]] = ...) -> None: ...

class InviteUserToGroupReq(_message.Message):
    __slots__ = ("groupID", "reason", "invitedUserIDs", "sendMessage")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INVITEDUSERIDS_FIELD_NUMBER: _ClassVar[int]
    SENDMESSAGE_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    reason: str
    invitedUserIDs: _containers.RepeatedScalarFieldContainer[str]
    sendMessage: bool
    def __init__(self, groupID: _Optional[str] = ..., reason: _Optional[str] = ..., invitedUserIDs: _Optional[_Iterable[str]] = ..., sendMessage: _Optional[bool] = ...) -> None: ...

class InviteUserToGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetGroupsReq(_message.Message):
    __slots__ = ("pagination", "groupName", "groupID")
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    GROUPNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    pagination: _sdkws_pb2.RequestPagination
    groupName: str
    groupID: str
    def __init__(self, pagination: _Optional[_Union[_sdkws_pb2.RequestPagination, _Mapping]] = ..., groupName: _Optional[str] = ..., groupID: _Optional[str] = ...) -> None: ...

class CMSGroup(_message.Message):
    __slots__ = ("groupInfo", "groupOwnerUserName", "groupOwnerUserID")
    GROUPINFO_FIELD_NUMBER: _ClassVar[int]
    GROUPOWNERUSERNAME_FIELD_NUMBER: _ClassVar[int]
    GROUPOWNERUSERID_FIELD_NUMBER: _ClassVar[int]
    groupInfo: _sdkws_pb2.GroupInfo
    groupOwnerUserName: str
    groupOwnerUserID: str
    def __init__(self, groupInfo: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ..., groupOwnerUserName: _Optional[str] = ..., groupOwnerUserID: _Optional[str] = ...) -> None: ...

class GetGroupsResp(_message.Message):
    __slots__ = ("total", "groups")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    total: int
    groups: _containers.RepeatedCompositeFieldContainer[CMSGroup]
    def __init__(self, total: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[CMSGroup, _Mapping]]] = ...) -> None: ...

class DismissGroupReq(_message.Message):
    __slots__ = ("groupID", "deleteMember", "sendMessage")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    DELETEMEMBER_FIELD_NUMBER: _ClassVar[int]
    SENDMESSAGE_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    deleteMember: bool
    sendMessage: bool
    def __init__(self, groupID: _Optional[str] = ..., deleteMember: _Optional[bool] = ..., sendMessage: _Optional[bool] = ...) -> None: ...

class DismissGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MuteGroupMemberReq(_message.Message):
    __slots__ = ("groupID", "userID", "mutedSeconds")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    MUTEDSECONDS_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    mutedSeconds: int
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ..., mutedSeconds: _Optional[int] = ...) -> None: ...

class MuteGroupMemberResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CancelMuteGroupMemberReq(_message.Message):
    __slots__ = ("groupID", "userID")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ...) -> None: ...

class CancelMuteGroupMemberResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MuteGroupReq(_message.Message):
    __slots__ = ("groupID",)
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    def __init__(self, groupID: _Optional[str] = ...) -> None: ...

class MuteGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CancelMuteGroupReq(_message.Message):
    __slots__ = ("groupID",)
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    def __init__(self, groupID: _Optional[str] = ...) -> None: ...

class CancelMuteGroupResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetGroupMemberInfo(_message.Message):
    __slots__ = ("groupID", "userID", "nickname", "faceURL", "roleLevel", "ex")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACEURL_FIELD_NUMBER: _ClassVar[int]
    ROLELEVEL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    userID: str
    nickname: _wrapperspb_pb2.StringValue
    faceURL: _wrapperspb_pb2.StringValue
    roleLevel: _wrapperspb_pb2.Int32Value
    ex: _wrapperspb_pb2.StringValue
    def __init__(self, groupID: _Optional[str] = ..., userID: _Optional[str] = ..., nickname: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., faceURL: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ..., roleLevel: _Optional[_Union[_wrapperspb_pb2.Int32Value, _Mapping]] = ..., ex: _Optional[_Union[_wrapperspb_pb2.StringValue, _Mapping]] = ...) -> None: ...

class SetGroupMemberInfoReq(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[SetGroupMemberInfo]
    def __init__(self, members: _Optional[_Iterable[_Union[SetGroupMemberInfo, _Mapping]]] = ...) -> None: ...

class SetGroupMemberInfoResp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetGroupAbstractInfoReq(_message.Message):
    __slots__ = ("groupIDs",)
    GROUPIDS_FIELD_NUMBER: _ClassVar[int]
    groupIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groupIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GroupAbstractInfo(_message.Message):
    __slots__ = ("groupID", "groupMemberNumber", "groupMemberListHash")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERNUMBER_FIELD_NUMBER: _ClassVar[int]
    GROUPMEMBERLISTHASH_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    groupMemberNumber: int
    groupMemberListHash: int
    def __init__(self, groupID: _Optional[str] = ..., groupMemberNumber: _Optional[int] = ..., groupMemberListHash: _Optional[int] = ...) -> None: ...

class GetGroupAbstractInfoResp(_message.Message):
    __slots__ = ("groupAbstractInfos",)
    GROUPABSTRACTINFOS_FIELD_NUMBER: _ClassVar[int]
    groupAbstractInfos: _containers.RepeatedCompositeFieldContainer[GroupAbstractInfo]
    def __init__(self, groupAbstractInfos: _Optional[_Iterable[_Union[GroupAbstractInfo, _Mapping]]] = ...) -> None: ...

class GetGroupMemberUserIDsReq(_message.Message):
    __slots__ = ("groupID",)
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    def __init__(self, groupID: _Optional[str] = ...) -> None: ...

class GetGroupMemberUserIDsResp(_message.Message):
    __slots__ = ("userIDs",)
    USERIDS_FIELD_NUMBER: _ClassVar[int]
    userIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, userIDs: _Optional[_Iterable[str]] = ...) -> None: ...

class GroupCreateCountReq(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class GroupCreateCountResp(_message.Message):
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

class getIncrementalGroupMemberReq(_message.Message):
    __slots__ = ("groupID", "versionID", "version")
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    groupID: str
    versionID: str
    version: int
    def __init__(self, groupID: _Optional[str] = ..., versionID: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class getIncrementalGroupMemberResp(_message.Message):
    __slots__ = ("version", "versionID", "full", "delete", "insert", "update", "group", "sortVersion")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    INSERT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SORTVERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    full: bool
    delete: _containers.RepeatedScalarFieldContainer[str]
    insert: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupMemberFullInfo]
    update: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupMemberFullInfo]
    group: _sdkws_pb2.GroupInfo
    sortVersion: int
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., full: _Optional[bool] = ..., delete: _Optional[_Iterable[str]] = ..., insert: _Optional[_Iterable[_Union[_sdkws_pb2.GroupMemberFullInfo, _Mapping]]] = ..., update: _Optional[_Iterable[_Union[_sdkws_pb2.GroupMemberFullInfo, _Mapping]]] = ..., group: _Optional[_Union[_sdkws_pb2.GroupInfo, _Mapping]] = ..., sortVersion: _Optional[int] = ...) -> None: ...

class BatchGetIncrementalGroupMemberReq(_message.Message):
    __slots__ = ("userID", "reqList")
    USERID_FIELD_NUMBER: _ClassVar[int]
    REQLIST_FIELD_NUMBER: _ClassVar[int]
    userID: str
    reqList: _containers.RepeatedCompositeFieldContainer[getIncrementalGroupMemberReq]
    def __init__(self, userID: _Optional[str] = ..., reqList: _Optional[_Iterable[_Union[getIncrementalGroupMemberReq, _Mapping]]] = ...) -> None: ...

class BatchGetIncrementalGroupMemberResp(_message.Message):
    __slots__ = ("respList",)
    class RespListEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: getIncrementalGroupMemberResp
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[getIncrementalGroupMemberResp, _Mapping]] = ...) -> None: ...
    RESPLIST_FIELD_NUMBER: _ClassVar[int]
    respList: _containers.MessageMap[str, getIncrementalGroupMemberResp]
    def __init__(self, respList: _Optional[_Mapping[str, getIncrementalGroupMemberResp]] = ...) -> None: ...

class getIncrementalJoinGroupReq(_message.Message):
    __slots__ = ("userID", "versionID", "version")
    USERID_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    userID: str
    versionID: str
    version: int
    def __init__(self, userID: _Optional[str] = ..., versionID: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class getIncrementalJoinGroupResp(_message.Message):
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
    insert: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupInfo]
    update: _containers.RepeatedCompositeFieldContainer[_sdkws_pb2.GroupInfo]
    sortVersion: int
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., full: _Optional[bool] = ..., delete: _Optional[_Iterable[str]] = ..., insert: _Optional[_Iterable[_Union[_sdkws_pb2.GroupInfo, _Mapping]]] = ..., update: _Optional[_Iterable[_Union[_sdkws_pb2.GroupInfo, _Mapping]]] = ..., sortVersion: _Optional[int] = ...) -> None: ...

class GetFullGroupMemberUserIDsReq(_message.Message):
    __slots__ = ("idHash", "groupID")
    IDHASH_FIELD_NUMBER: _ClassVar[int]
    GROUPID_FIELD_NUMBER: _ClassVar[int]
    idHash: int
    groupID: str
    def __init__(self, idHash: _Optional[int] = ..., groupID: _Optional[str] = ...) -> None: ...

class GetFullGroupMemberUserIDsResp(_message.Message):
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

class GetFullJoinGroupIDsReq(_message.Message):
    __slots__ = ("idHash", "userID")
    IDHASH_FIELD_NUMBER: _ClassVar[int]
    USERID_FIELD_NUMBER: _ClassVar[int]
    idHash: int
    userID: str
    def __init__(self, idHash: _Optional[int] = ..., userID: _Optional[str] = ...) -> None: ...

class GetFullJoinGroupIDsResp(_message.Message):
    __slots__ = ("version", "versionID", "equal", "groupIDs")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONID_FIELD_NUMBER: _ClassVar[int]
    EQUAL_FIELD_NUMBER: _ClassVar[int]
    GROUPIDS_FIELD_NUMBER: _ClassVar[int]
    version: int
    versionID: str
    equal: bool
    groupIDs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[int] = ..., versionID: _Optional[str] = ..., equal: _Optional[bool] = ..., groupIDs: _Optional[_Iterable[str]] = ...) -> None: ...
