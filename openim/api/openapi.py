"""An OpenAPI 3.0 document of the OpenIM REST routes, generated from their protobuf request types.

It exists for tools, above all the fuzzer in CI (tests/fuzz): every route is ``POST <path>`` with the
``operationID`` header, the ``token`` header unless the route is whitelisted, and a JSON body whose
schema follows the same rules as the decoder (openim.wire.jsoncodec): keys are the proto field names,
int64 are JSON numbers with their ranges, bytes are base64, enums are numbers, ``openim.protobuf.*Value``
wrappers are their bare value, maps are objects. Every answer is the envelope
``{errCode, errMsg, errDlt, data}``.

Served at ``GET /openapi.json`` only when ``api.openapi`` is on (off by default), and then only to an
app admin's token (header ``token``): the document lists every route, which is nobody else's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openim import __version__
from openim.api.framework import Auth, Router, RouteSpec, json_response
from openim.services.tokens import TokenService
from openim.wire.errors import ErrCode, OpenIMError, error_envelope

__all__ = ["openapi_document", "openapi_route"]

_FD = FieldDescriptor
_WRAPPER_PACKAGE: Final = "openim.protobuf."
_INT_RANGES: Final[Mapping[int, tuple[int, int]]] = {
    _FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    _FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    _FD.CPPTYPE_UINT64: (0, 2**64 - 1),
    _FD.CPPTYPE_ENUM: (-(2**31), 2**31 - 1),
}
# Bodies a proto cannot hold whole (see jsoncodec.send_msg_from_json): the extra properties they take.
_EXTRA_PROPERTIES: Final[Mapping[str, Mapping[str, Any]]] = {
    "/msg/send_msg": {"content": {"type": "object"}},
}
_ENVELOPE: Final = {
    "type": "object",
    "required": ["errCode", "errMsg", "errDlt"],
    "properties": {
        "errCode": {"type": "integer"},
        "errMsg": {"type": "string"},
        "errDlt": {"type": "string"},
        "data": {},
    },
}


def _schema_name(desc: Descriptor) -> str:
    return str(desc.full_name)


class _Schemas:
    """The components/schemas of the document: one schema per message type reached from a request."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, desc: Descriptor) -> dict[str, Any]:
        name = _schema_name(desc)
        if name not in self.components:
            self.components[name] = {}  # placeholder first: message types may be recursive
            self.components[name] = self._message(desc)
        return {"$ref": f"#/components/schemas/{name}"}

    def _message(self, desc: Descriptor) -> dict[str, Any]:
        props = {fd.name: self._field(fd) for fd in desc.fields}
        return {"type": "object", "properties": props}

    def _field(self, fd: FieldDescriptor) -> dict[str, Any]:
        if fd.is_repeated and fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            key_fd = fd.message_type.fields_by_name["key"]
            value = self._value(fd.message_type.fields_by_name["value"])
            out: dict[str, Any] = {"type": "object", "additionalProperties": value}
            if key_fd.cpp_type != _FD.CPPTYPE_STRING:
                out["propertyNames"] = {"pattern": "^-?[0-9]{1,19}$"}
            return out
        if fd.is_repeated:
            return {"type": "array", "items": self._value(fd)}
        return self._value(fd)

    def _value(self, fd: FieldDescriptor) -> dict[str, Any]:
        cpp = fd.cpp_type
        if cpp == _FD.CPPTYPE_MESSAGE:
            if str(fd.message_type.full_name).startswith(_WRAPPER_PACKAGE):
                return self._value(fd.message_type.fields_by_name["value"])
            return self.ref(fd.message_type)
        if cpp == _FD.CPPTYPE_STRING:
            return {"type": "string", "format": "byte"} if fd.type == _FD.TYPE_BYTES else {"type": "string"}
        if cpp == _FD.CPPTYPE_BOOL:
            return {"type": "boolean"}
        if cpp in (_FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT):
            return {"type": "number"}
        lo, hi = _INT_RANGES[cpp]
        return {"type": "integer", "minimum": lo, "maximum": hi}


def _operation(spec: RouteSpec[Any], schemas: _Schemas) -> dict[str, Any]:
    body = dict(schemas.ref(spec.req_cls.DESCRIPTOR))
    extra = _EXTRA_PROPERTIES.get(spec.path)
    if extra:
        body = {"allOf": [body, {"type": "object", "required": sorted(extra), "properties": dict(extra)}]}
    params: list[dict[str, Any]] = [
        {"name": "operationID", "in": "header", "required": True, "schema": {"type": "string", "minLength": 1}}
    ]
    if spec.auth is not Auth.NONE:
        params.append({"name": "token", "in": "header", "required": True, "schema": {"type": "string"}})
    answer = "an app admin's token" if spec.auth is Auth.ADMIN else "no token" if spec.auth is Auth.NONE else "a token"
    return {
        "operationId": spec.path.strip("/").replace("/", "_"),
        "summary": f"{spec.path} ({answer})",
        "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "the OpenIM envelope", "content": {"application/json": {"schema": _ENVELOPE}}},
            "400": {"description": "a body that does not bind (1001)",
                    "content": {"application/json": {"schema": _ENVELOPE}}},
        },
    }  # fmt: skip


def openapi_document(router: Router, server_url: str = "") -> dict[str, Any]:
    """The document for every route of ``router`` (a pure function of the registered routes)."""
    schemas = _Schemas()
    paths = {spec.path: {"post": _operation(spec, schemas)} for spec in router.specs}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "openim REST API (OpenIM Server v3 routes)", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas.components},
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def openapi_route(router: Router, tokens: TokenService) -> Route:
    """``GET /openapi.json`` for app admins (header ``token``); the document is built once, on first use."""
    cache: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> Response:
        try:
            claims = await tokens.verify(request.headers.get("token", ""))
            if not tokens.is_admin(claims.user_id):
                raise OpenIMError(ErrCode.NO_PERMISSION, "only an app admin may read the API document")
        except OpenIMError as err:
            return json_response(error_envelope(err), status=403)
        if not cache:
            cache.append(openapi_document(router))
        return json_response(cache[0])

    return Route("/openapi.json", endpoint, methods=["GET"])
