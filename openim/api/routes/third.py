"""/third/*: what the SDKs tell the server about a device's offline push (OpenIM's third service).

``fcm_update_token`` registers the device's push token (FCM registration token, APNs device token, or
whatever the generic HTTP provider's gateway understands) for the caller's (user, platform);
``set_app_badge`` records the unread count the app shows, which APNs pushes carry as the badge.

``GET /third/prometheus`` is OpenIM's link from the admin panel to the Grafana dashboard: a 302 to
``ops.grafana_url``. Like OpenIM's it is a plain GET without a token (a browser opens it), so it
discloses nothing but that address. With no address configured it answers HTTP 404 with the envelope
of errCode 1004, not a redirect to nowhere.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from openim.api.framework import Caller, Router, RouteSpec, json_response
from openim.node import Node
from openim.offline_push.devices import DeviceRegistry
from openim.service_set import Services
from openim.wire.constants import is_valid_platform
from openim.wire.errors import ErrCode, args_error, error_envelope
from openim.wire.pb import third_pb2 as pb


class ThirdRoutes:
    """The /third handlers, over the device registry."""

    def __init__(self, devices: DeviceRegistry) -> None:
        self._devices = devices

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
    h = ThirdRoutes(services.devices)
    router.add_raw(Route("/third/prometheus", GrafanaLink(node.config.ops.grafana_url).answer, methods=["GET"]))
    router.add(
        RouteSpec("/third/fcm_update_token", pb.FcmUpdateTokenReq, pb.FcmUpdateTokenResp, h.fcm_update_token),
        RouteSpec("/third/set_app_badge", pb.SetAppBadgeReq, pb.SetAppBadgeResp, h.set_app_badge),
    )
