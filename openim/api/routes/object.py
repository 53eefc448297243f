"""/object/*: the upload API the SDKs use, plus the routes that are not OpenIM's POST/envelope kind:
``PUT <prefix>.upload/<uploadID>?partNumber=N`` (where the local backend receives parts),
``POST <prefix>.form/<uploadID>`` (where it receives browser form uploads, object_form.py) and
``GET /object/<name>`` (the URL put into messages: no token, a file or a redirect).

Returned URLs start with the object prefix: ``object_storage.public_url`` when set, else the request's
``X-Request-Api`` header (as OpenIM), else ``<scheme>://<Host>/object/``.
"""

from __future__ import annotations

import hashlib

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from openim.api.framework import CORS_HEADERS, Caller, Router, RouteSpec
from openim.api.routes.object_form import FormPostReceiver
from openim.config import ObjectStorageConfig
from openim.node import Node
from openim.objects import ObjectService, PartTarget, rules
from openim.ops.logging import get_log
from openim.service_set import Services
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import third_pb2 as pb

log = get_log("api.object")

_STATUS = {ErrCode.RECORD_NOT_FOUND: 404, ErrCode.FILE_UPLOADED_EXPIRED: 404, ErrCode.NO_PERMISSION: 403}


def url_prefix(request: Request, cfg: ObjectStorageConfig) -> str:
    """The base of object URLs for this request (always ends with ``/object/``)."""
    if cfg.public_url:
        return cfg.public_url.rstrip("/") + "/object/"
    api = request.headers.get("X-Request-Api", "")
    if api:
        return api.rstrip("/") + "/object/"
    scheme = request.headers.get("X-Forwarded-Proto", "") or request.url.scheme
    host = request.headers.get("host", "") or request.url.netloc
    return f"{scheme}://{host}/object/"


def _kv(pairs: tuple[tuple[str, str], ...]) -> list[pb.KeyValues]:
    return [pb.KeyValues(key=k, values=[v]) for k, v in pairs]


def _parts(targets: list[PartTarget] | tuple[PartTarget, ...]) -> list[pb.SignPart]:
    return [pb.SignPart(partNumber=t.part_number, url=t.url, query=_kv(t.query), header=_kv(t.header)) for t in targets]


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` bytes (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _text_error(err: OpenIMError) -> Response:
    return PlainTextResponse(err.detail or err.name, status_code=_STATUS.get(err.code, 400), headers=CORS_HEADERS)


class ObjectRoutes:
    """The /object handlers (the OpenIM ones and the two raw routes), over ObjectService."""

    def __init__(self, objects: ObjectService, cfg: ObjectStorageConfig) -> None:
        self._objects = objects
        self._cfg = cfg

    async def part_limit(self, caller: Caller, req: pb.PartLimitReq) -> pb.PartLimitResp:
        return pb.PartLimitResp(
            minPartSize=rules.MIN_PART_SIZE, maxPartSize=rules.MAX_PART_SIZE, maxNumSize=rules.MAX_PARTS
        )

    async def part_size(self, caller: Caller, req: pb.PartSizeReq) -> pb.PartSizeResp:
        return pb.PartSizeResp(size=self._objects.part_size(req.size))

    async def initiate(self, caller: Caller, req: pb.InitiateMultipartUploadReq) -> pb.InitiateMultipartUploadResp:
        ticket = await self._objects.initiate(
            user_id=caller.user_id,
            is_admin=caller.is_admin,
            name=req.name,
            content_hash=req.hash,
            size=req.size,
            part_size=req.partSize,
            content_type=req.contentType,
            cause=req.cause,
            url_prefix=url_prefix(caller.request, self._cfg),
        )
        if ticket.url:
            return pb.InitiateMultipartUploadResp(url=ticket.url)
        return pb.InitiateMultipartUploadResp(
            upload=pb.UploadInfo(
                uploadID=ticket.upload_id,
                partSize=ticket.part_size,
                sign=pb.AuthSignParts(url=ticket.sign_url, parts=_parts(ticket.parts)),
                expireTime=ticket.expire_time,
            )
        )

    async def auth_sign(self, caller: Caller, req: pb.AuthSignReq) -> pb.AuthSignResp:
        prefix = url_prefix(caller.request, self._cfg)
        targets = await self._objects.sign(
            user_id=caller.user_id,
            is_admin=caller.is_admin,
            upload_id=req.uploadID,
            part_numbers=list(req.partNumbers),
            url_prefix=prefix,
        )
        return pb.AuthSignResp(url=targets[0].url.split("?", 1)[0] if targets else "", parts=_parts(targets))

    async def complete(self, caller: Caller, req: pb.CompleteMultipartUploadReq) -> pb.CompleteMultipartUploadResp:
        url = await self._objects.complete(
            user_id=caller.user_id,
            is_admin=caller.is_admin,
            upload_id=req.uploadID,
            part_md5s=list(req.parts),
            name=req.name,
            content_type=req.contentType,
            cause=req.cause,
            url_prefix=url_prefix(caller.request, self._cfg),
        )
        return pb.CompleteMultipartUploadResp(url=url)

    async def access_url(self, caller: Caller, req: pb.AccessURLReq) -> pb.AccessURLResp:
        kind = req.query.get("type", "")
        if kind not in ("", "image"):
            raise OpenIMError(ErrCode.ARGS, f"query type {kind!r} is not supported")
        url, expire = await self._objects.access_url(req.name, url_prefix(caller.request, self._cfg))
        return pb.AccessURLResp(url=url, expireTime=expire)

    async def initiate_form_data(self, caller: Caller, req: pb.InitiateFormDataReq) -> pb.InitiateFormDataResp:
        ticket = await self._objects.initiate_form(
            user_id=caller.user_id,
            is_admin=caller.is_admin,
            name=req.name,
            size=req.size,
            content_type=req.contentType,
            group=req.group,
            millisecond=req.millisecond,
            url_prefix=url_prefix(caller.request, self._cfg),
        )
        target = ticket.target
        return pb.InitiateFormDataResp(
            id=ticket.form_id,
            url=target.url,
            file=target.file_field,
            formData=dict(target.fields),
            expires=ticket.expires,
            successCodes=list(target.success_codes),
        )

    async def complete_form_data(self, caller: Caller, req: pb.CompleteFormDataReq) -> pb.CompleteFormDataResp:
        url = await self._objects.complete_form(
            user_id=caller.user_id,
            is_admin=caller.is_admin,
            form_id=req.id,
            url_prefix=url_prefix(caller.request, self._cfg),
        )
        return pb.CompleteFormDataResp(url=url)

    # -- the raw routes -------------------------------------------------------------------------------
    async def put_part(self, request: Request) -> Response:
        """A part of a local upload. No token: the session id in the URL is the credential, so it is
        checked, with the part's size, before a byte of the body is read (a stranger's body is never
        buffered), and the body is read up to that size only."""
        number = request.query_params.get("partNumber", "")
        upload_id = request.path_params["upload_id"]
        try:
            if not number.isdigit():
                raise OpenIMError(ErrCode.ARGS, "partNumber must be a positive integer")
            expected = await self._objects.part_length(upload_id, int(number))
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > expected:
                return PlainTextResponse("part too large", status_code=413, headers=CORS_HEADERS)
            data = await _read_at_most(request, expected)
            if data is None:
                return PlainTextResponse("part too large", status_code=413, headers=CORS_HEADERS)
            await self._objects.receive_part(upload_id, int(number), data)
        except ClientDisconnect:
            log.debug("object.client_gone", upload_id=upload_id)
            return Response(status_code=400)
        except OpenIMError as err:
            return _text_error(err)
        etag = hashlib.md5(data).hexdigest()
        headers = {**CORS_HEADERS, "ETag": f'"{etag}"', "Access-Control-Expose-Headers": "ETag"}
        return Response(status_code=200, headers=headers)

    async def get_object(self, request: Request) -> Response:
        """The URL the SDK stores in messages: anyone holding it may read the object, as in OpenIM."""
        name = request.path_params["name"]
        try:
            obj, where = await self._objects.find(name)
        except OpenIMError as err:
            return _text_error(err)
        if where.redirect:
            return RedirectResponse(where.redirect, status_code=302, headers=CORS_HEADERS)
        if where.path is None or not where.path.is_file():
            log.warning("object.blob_missing", name=name, key=obj.key)
            return PlainTextResponse("object data missing", status_code=404, headers=CORS_HEADERS)
        return FileResponse(where.path, media_type=obj.content_type or "application/octet-stream", headers=CORS_HEADERS)


def register(router: Router, node: Node, services: Services) -> None:
    h = ObjectRoutes(services.objects, node.config.object_storage)
    router.add(
        RouteSpec("/object/part_limit", pb.PartLimitReq, pb.PartLimitResp, h.part_limit),
        RouteSpec("/object/part_size", pb.PartSizeReq, pb.PartSizeResp, h.part_size),
        RouteSpec(
            "/object/initiate_multipart_upload",
            pb.InitiateMultipartUploadReq,
            pb.InitiateMultipartUploadResp,
            h.initiate,
        ),
        RouteSpec("/object/auth_sign", pb.AuthSignReq, pb.AuthSignResp, h.auth_sign),
        RouteSpec(
            "/object/complete_multipart_upload",
            pb.CompleteMultipartUploadReq,
            pb.CompleteMultipartUploadResp,
            h.complete,
        ),
        RouteSpec("/object/access_url", pb.AccessURLReq, pb.AccessURLResp, h.access_url),
        RouteSpec("/object/initiate_form_data", pb.InitiateFormDataReq, pb.InitiateFormDataResp, h.initiate_form_data),
        RouteSpec("/object/complete_form_data", pb.CompleteFormDataReq, pb.CompleteFormDataResp, h.complete_form_data),
    )
    router.add_raw(Route("/object/.upload/{upload_id}", h.put_part, methods=["PUT"]))
    forms = FormPostReceiver(services.objects, node.config.object_storage)
    router.add_raw(Route("/object/.form/{upload_id}", forms.post_form, methods=["POST"]))
    router.add_raw(Route("/object/{name:path}", h.get_object, methods=["GET"]))
