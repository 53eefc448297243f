"""Group records as OpenIM's protobuf messages: what the group routes, notifications and the conversation
list (its group entries) answer with."""

from __future__ import annotations

from openim.storage.groups.records import GroupMemberRecord, GroupRecord, GroupRequestRecord
from openim.storage.messages.records import UserRecord
from openim.wire.pb import sdkws_pb2


def group_to_pb(group: GroupRecord, member_count: int) -> sdkws_pb2.GroupInfo:
    return sdkws_pb2.GroupInfo(
        groupID=group.group_id,
        groupName=group.group_name,
        notification=group.notification,
        introduction=group.introduction,
        faceURL=group.face_url,
        ownerUserID=group.owner_user_id,
        createTime=group.create_time,
        memberCount=member_count,
        ex=group.ex,
        status=group.status,
        creatorUserID=group.creator_user_id,
        groupType=group.group_type,
        needVerification=group.need_verification,
        lookMemberInfo=group.look_member_info,
        applyMemberFriend=group.apply_member_friend,
        notificationUpdateTime=group.notification_update_time,
        notificationUserID=group.notification_user_id,
    )


def member_to_pb(member: GroupMemberRecord, user: UserRecord | None) -> sdkws_pb2.GroupMemberFullInfo:
    """Empty member nickname/face show the user's profile ones (OpenIM fills them on read)."""
    return sdkws_pb2.GroupMemberFullInfo(
        groupID=member.group_id,
        userID=member.user_id,
        roleLevel=member.role_level,
        joinTime=member.join_time,
        nickname=member.nickname or (user.nickname if user else ""),
        faceURL=member.face_url or (user.face_url if user else ""),
        appMangerLevel=user.app_manager_level if user else 0,
        joinSource=member.join_source,
        operatorUserID=member.operator_user_id,
        ex=member.ex,
        muteEndTime=member.mute_end_time,
        inviterUserID=member.inviter_user_id,
    )


def public_user(user_id: str, user: UserRecord | None) -> sdkws_pb2.PublicUserInfo:
    if user is None:
        return sdkws_pb2.PublicUserInfo(userID=user_id)
    return sdkws_pb2.PublicUserInfo(userID=user.user_id, nickname=user.nickname, faceURL=user.face_url, ex=user.ex)


def request_to_pb(
    req: GroupRequestRecord, user: UserRecord | None, group: sdkws_pb2.GroupInfo | None
) -> sdkws_pb2.GroupRequest:
    out = sdkws_pb2.GroupRequest(
        handleResult=req.handle_result,
        reqMsg=req.req_msg,
        handleMsg=req.handle_msg,
        reqTime=req.req_time,
        handleUserID=req.handle_user_id,
        handleTime=req.handle_time,
        ex=req.ex,
        joinSource=req.join_source,
        inviterUserID=req.inviter_user_id,
    )
    out.userInfo.CopyFrom(public_user(req.user_id, user))
    if group is not None:
        out.groupInfo.CopyFrom(group)
    return out
