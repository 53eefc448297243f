"""/third/*: what the SDKs tell the server about a device's offline push (OpenIM's third service).

``fcm_update_token`` registers the device's push token (FCM registration token, APNs device token, or
whatever the generic HTTP provider's gateway understands) for the caller's (user, platform);
``set_app_badge`` records the unread count the app shows, which APNs pushes carry as the badge.

``logs/upload`` records the log files a client uploaded through /object/* (any user, for itself);
``logs/search`` and ``logs/delete`` are the app admins' (1002 for anyone else), as in OpenIM.

``GET /third/prometheus`` is OpenIM's link from the admin panel to the Grafana dashboard: a 302 to
``ops.grafana_url``. Like OpenIM's it is a plain GET without a token (a browser opens it), so it
discloses nothing but that address. With no address configured it answers HTTP 404 with the envelope
of errCode 1004, not a redirect to nowhere.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from openim.api.framework import Auth, Caller, Router, RouteSpec, json_response
from openim.node import Node
from openim.offline_push.devices import DeviceRegistry
from openim.service_set import Services
from openim.services.client_logs import ClientLogService, LogFile
from openim.services.versioning import page_window
from openim.wire.constants import is_valid_platform
from openim.wire.errors import ErrCode, args_error, error_envelope
from openim.wire.pb import third_pb2 as pb


class ThirdRoutes:
    """The /third handlers, over the device registry and the client logs."""

    def __init__(self, devices: DeviceRegistry, client_logs: ClientLogService) -> None:
        self._devices = devices
        self._logs = client_logs

    async def fcm_update_token(self, caller: Caller, req: pb.FcmUpdateTokenReq) -> None:
        user_id = req.account or caller.user_id
        caller.check_access(user_id)
        if not is_valid_platform(req.platformID):
            raise args_error(f"platformID {req.platformID} is invalid")
        if not req.fcmToken:
            raise args_error("fcmToken is empty")
        await self._devices.register(user_id, req.platformID, req.fcmToken, expire_time=req.expireTime)

    async def set_app_badge(self, caller: Caller, req: pb.SetAppBadgeReq) -> None:
        user_id = req.userID or caller.user_id
        caller.check_access(user_id)
        if req.appUnreadCount < 0:
            raise args_error("appUnreadCount must not be negative")
        await self._devices.set_badge(user_id, req.appUnreadCount)

    async def upload_logs(self, caller: Caller, req: pb.UploadLogsReq) -> None:
        """Always the caller's own logs: the body names no user (OpenIM takes the token's)."""
        await self._logs.upload(
            user_id=caller.user_id,
            platform_id=req.platform,
            files=[LogFile(f.filename, f.URL) for f in req.fileURLs],
            app_framework=req.appFramework,
            version=req.version,
            ex=req.ex,
            system_type=req.systemType,
        )

    async def delete_logs(self, caller: Caller, req: pb.DeleteLogsReq) -> None:
        await self._logs.delete(list(req.logIDs))

    async def search_logs(self, caller: Caller, req: pb.SearchLogsReq) -> pb.SearchLogsResp:
        offset, limit = page_window(req.pagination)
        total, found = await self._logs.search(
            keyword=req.keyword, start_time=req.startTime, end_time=req.endTime, offset=offset, limit=limit
        )
        return pb.SearchLogsResp(
            logsInfos=[
                pb.LogInfo(
                    userID=r.user_id,
                    platform=r.platform,
                    url=r.url,
                    createTime=r.create_time,
                    nickname=nickname,
                    logID=r.log_id,
                    filename=r.file_name,
                    systemType=r.system_type,
                    ex=r.ex,
                    version=r.version,
                    appFramework=r.app_framework,
                )
                for r, nickname in found
            ],
            total=total,
        )


class GrafanaLink:
    """GET /third/prometheus: where the operator's Grafana is, or a clear 404 when there is none."""

    def __init__(self, grafana_url: str) -> None:
        self._url = grafana_url

    async def answer(self, _: Request) -> Response:
        if not self._url:
            body = error_envelope(ErrCode.RECORD_NOT_FOUND, "no Grafana URL is configured (ops.grafana_url)")
            return json_response(body, status=404)
        return RedirectResponse(self._url, status_code=302)


def register(router: Router, node: Node, services: Services) -> None:
    h = ThirdRoutes(services.devices, services.client_logs)
    router.add_raw(Route("/third/prometheus", GrafanaLink(node.config.ops.grafana_url).answer, methods=["GET"]))
    router.add(
        RouteSpec("/third/fcm_update_token", pb.FcmUpdateTokenReq, pb.FcmUpdateTokenResp, h.fcm_update_token),
        RouteSpec("/third/set_app_badge", pb.SetAppBadgeReq, pb.SetAppBadgeResp, h.set_app_badge),
        RouteSpec("/third/logs/upload", pb.UploadLogsReq, pb.UploadLogsResp, h.upload_logs),
        RouteSpec("/third/logs/delete", pb.DeleteLogsReq, pb.DeleteLogsResp, h.delete_logs, auth=Auth.ADMIN),
        RouteSpec("/third/logs/search", pb.SearchLogsReq, pb.SearchLogsResp, h.search_logs, auth=Auth.ADMIN),
    )
