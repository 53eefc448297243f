"""The REST conventions of OpenIM in one place (POST with JSON, the operationID and token headers, the envelope).

Every route is ``POST <path>`` with headers ``operationID`` (always) and ``token`` (unless whitelisted),
a JSON body read whatever the Content-Type says (the SDK's upload calls send text/plain), keys matched
case-insensitively, and an answer ``{"errCode","errMsg","errDlt","data"}`` with HTTP 200 even for
business errors. Handlers receive a typed protobuf request and return a protobuf response (or None for
an empty one); this module decodes, authenticates, calls, encodes, and turns every failure into the
envelope — never an HTTP 500, never a traceback to the client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError, Message
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.services.tokens import Claims, TokenService
from openim.wire.errors import ErrCode, OpenIMError, error_envelope, ok_envelope
from openim.wire.jsoncodec import message_from_json, message_to_json
from openim.wire.jsontext import find_unstorable_text

log = get_log("api")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "172800",
    "Access-Control-Allow-Credentials": "false",
}
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
CLIENT_GONE = 499  # the metrics' code label for requests whose client left mid-body (nginx's convention)

Req = TypeVar("Req", bound=Message)


class Auth(Enum):
    NONE = "none"  # no token (whitelisted routes)
    USER = "user"  # any valid token
    ADMIN = "admin"  # an app admin's token


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling and for which operation; handlers check access through it."""

    operation_id: str
    claims: Claims | None
    is_admin: bool
    request: Request
    # Lower-cased top-level JSON keys that carried a non-null value. Go tells a missing/null slice from
    # an empty one (``userIDs: []`` passes where a missing list is 1001); proto3 repeated fields cannot,
    # so the few handlers that need the difference ask here.
    body_keys: frozenset[str] = frozenset()
    # The parsed JSON body (None for protobuf bodies). Only for the few OpenIM bodies a proto cannot hold
    # whole, e.g. /msg/send_msg's free-form ``content`` object (see jsoncodec.send_msg_from_json).
    json_body: Mapping[str, Any] | None = None

    def sent(self, field: str) -> bool:
        """Whether the JSON body carried ``field`` (any case) with a non-null value."""
        return field.lower() in self.body_keys

    @property
    def user_id(self) -> str:
        return self.claims.user_id if self.claims else ""

    @property
    def platform_id(self) -> int:
        return self.claims.platform_id if self.claims else 0

    def check_access(self, user_id: str) -> None:
        """OpenIM's CheckAccess: the token's own user, or an admin (1002 otherwise)."""
        if not self.is_admin and self.user_id != user_id:
            raise OpenIMError(ErrCode.NO_PERMISSION, f"token user {self.user_id} may not act for {user_id}")

    def acting_for(self, user_id: str, name: str = "userID") -> str:
        """CheckAccess on the required body field ``name`` that names the user a call acts for (1001 when
        it is empty); returns that user."""
        if not user_id:
            raise OpenIMError(ErrCode.ARGS, f"{name} is empty")
        self.check_access(user_id)
        return user_id


TypedHandler = Callable[[Caller, Req], Awaitable[Message | None]]


def client_ip(request: Request) -> str:
    """The peer address of a request (what per-address limits key on)."""
    return request.client.host if request.client else ""


def _has_fields(cls: type[Message]) -> bool:
    return bool(cls.DESCRIPTOR.fields)


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=CORS_HEADERS,
    )


@dataclass(frozen=True)
class RouteSpec(Generic[Req]):
    """One OpenIM route as registered: what it decodes, who may call it, how it answers. The route
    modules list theirs as rows of these (path, request type, response type, handler); the handler
    is typed against the request type."""

    path: str
    req_cls: type[Req]
    resp_cls: type[Message] | None
    handler: TypedHandler[Req]
    auth: Auth = Auth.USER
    bind_400: bool = False  # OpenIM answers HTTP 400 when these bodies fail to bind (gin BindJSON routes)
    protobuf: bool = False  # accepts application/x-protobuf and answers base64 protobuf in data
    data_field: str | None = None  # answer only this field's JSON (OpenIM routes whose data is an array)
    # Rewrites the answer's JSON before it is sent, for the few answers whose Go shape a proto cannot say
    # (e.g. ``null`` instead of ``[]`` for empty lists the SDK tests with ``||``).
    json_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class Router:
    """Collects OpenIM routes and produces Starlette routes that apply the conventions above."""

    def __init__(self, tokens: TokenService, metrics: Metrics, max_body: int) -> None:
        self._tokens = tokens
        self._metrics = metrics
        self._max_body = max_body
        self._specs: dict[str, RouteSpec[Any]] = {}
        self._raw: list[BaseRoute] = []  # non-envelope routes (e.g. GET /object/<name>, part uploads)

    def route(
        self,
        path: str,
        req_cls: type[Req],
        resp_cls: type[Message] | None = None,
        *,
        auth: Auth = Auth.USER,
        bind_400: bool = False,
        protobuf: bool = False,
        data_field: str | None = None,
        json_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> Callable[[TypedHandler[Req]], TypedHandler[Req]]:
        """:meth:`add` as a decorator."""

        def register(fn: TypedHandler[Req]) -> TypedHandler[Req]:
            self.add(RouteSpec(path, req_cls, resp_cls, fn, auth, bind_400, protobuf, data_field, json_hook))
            return fn

        return register

    def add(self, *specs: RouteSpec[Any]) -> None:
        """Register routes: a route module's table of RouteSpec rows."""
        for spec in specs:
            if spec.path in self._specs:
                raise ValueError(f"route {spec.path} registered twice")
            self._specs[spec.path] = spec

    @property
    def paths(self) -> list[str]:
        return sorted(self._specs)

    @property
    def specs(self) -> list[RouteSpec[Any]]:
        """Every OpenIM route, by path (what the OpenAPI document describes)."""
        return [self._specs[p] for p in sorted(self._specs)]

    def add_raw(self, route: BaseRoute) -> None:
        """A route outside OpenIM's POST/envelope convention; served after the POST routes."""
        self._raw.append(route)

    def starlette_routes(self) -> list[BaseRoute]:
        posts: list[BaseRoute] = [Route(s.path, self._endpoint(s), methods=["POST"]) for s in self._specs.values()]
        return posts + self._raw

    def _endpoint(self, spec: RouteSpec[Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            code = 0
            try:
                data, has_data = await self._call(spec, request)
                return json_response(ok_envelope(data, has_data=has_data))
            except ClientDisconnect:
                # The client left before its body was in: nothing to answer, nothing wrong on our side.
                code = CLIENT_GONE
                log.debug("api.client_gone", path=spec.path)
                return Response(status_code=400)
            except OpenIMError as err:
                code = int(err.code)
                status = 400 if spec.bind_400 and err.code == ErrCode.ARGS and getattr(err, "binding", False) else 200
                return json_response(error_envelope(err), status)
            except Exception:  # the edge: an app bug becomes errCode 500, logged once, never a crash
                code = int(ErrCode.SERVER_INTERNAL)
                log.error("api.unhandled", path=spec.path, exc_info=True)
                return json_response(error_envelope(ErrCode.SERVER_INTERNAL, "internal error"))
            finally:
                self._metrics.http_requests.labels(route=spec.path, code=str(code)).inc()

        return endpoint

    async def _call(self, spec: RouteSpec[Any], request: Request) -> tuple[Any, bool]:
        operation_id = request.headers.get("operationID", "")
        if not operation_id:
            raise OpenIMError(ErrCode.ARGS, "header must have operationID")
        claims: Claims | None = None
        if spec.auth is not Auth.NONE:
            token = request.headers.get("token", "")
            if not token:
                raise OpenIMError(ErrCode.ARGS, "header must have token")
            claims = await self._tokens.verify(token)
        is_admin = claims is not None and self._tokens.is_admin(claims.user_id)
        if spec.auth is Auth.ADMIN and not is_admin:
            raise OpenIMError(ErrCode.NO_PERMISSION, "only an app admin may call this")
        body = await self._read_body(request)
        content_type = request.headers.get("content-type", "").lower()
        as_protobuf = spec.protobuf and any(t in content_type for t in PROTOBUF_TYPES)
        req, body_keys, json_body = self._decode(spec, body, as_protobuf)
        caller = Caller(operation_id, claims, is_admin, request, body_keys, json_body)
        resp = await spec.handler(caller, req)
        if resp is None:
            return None, False
        if as_protobuf:
            raw = resp.SerializeToString()
            return base64.b64encode(raw).decode("ascii"), True
        if spec.data_field is not None:
            return message_to_json(resp)[spec.data_field], True
        if not _has_fields(type(resp)):
            return None, False
        if spec.json_hook is not None:
            return spec.json_hook(message_to_json(resp)), True
        return message_to_json(resp), True

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_body:
            raise OpenIMError(ErrCode.ARGS, f"body larger than {self._max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                raise OpenIMError(ErrCode.ARGS, f"body larger than {self._max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _decode(
        spec: RouteSpec[Any], body: bytes, as_protobuf: bool
    ) -> tuple[Message, frozenset[str], dict[str, Any] | None]:
        if as_protobuf:
            try:
                return spec.req_cls.FromString(body), frozenset(), None
            except DecodeError as exc:
                raise _binding_error("body is not a valid protobuf message") from exc
        if not body.strip():
            obj: Any = {}
        else:
            try:
                obj = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise _binding_error(f"body is not valid JSON: {exc}") from exc
            bad = find_unstorable_text(obj, body)
            if bad is not None:
                raise _binding_error(f"{bad}: a lone UTF-16 surrogate or a NUL (U+0000) is not text")
        if not isinstance(obj, dict):
            raise _binding_error("body must be a JSON object")
        keys = frozenset(k.lower() for k, v in obj.items() if v is not None)
        try:
            return message_from_json(obj, spec.req_cls), keys, obj
        except OpenIMError as err:
            raise _binding_error(err.detail) from err


def _binding_error(detail: str) -> OpenIMError:
    err = OpenIMError(ErrCode.ARGS, detail)
    err.binding = True  # type: ignore[attr-defined]
    return err


def binding_error(detail: str) -> OpenIMError:
    """A 1001 that ``bind_400`` routes answer with HTTP 400: what gin's BindJSON does when a
    ``binding:"required"`` field is missing, which handlers check after decoding."""
    return _binding_error(detail)


async def options_preflight(_: Request) -> Response:
    """OpenIM answers every OPTIONS with 200 and this body; browsers only need the CORS headers."""
    return json_response("Options Request!")  # type: ignore[arg-type]


async def not_found(request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("404 page not found", status_code=404, headers=CORS_HEADERS)
