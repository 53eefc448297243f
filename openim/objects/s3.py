"""Uploads on any S3-compatible store (the cluster mode): clients PUT parts straight to the store through
presigned URLs, and read objects through presigned GET redirects; the bytes never cross our processes.

Keys follow OpenIM's layout: ``<prefix>data/hash/<hash>`` for complete blobs (one per content), and
``<prefix>temp/<date>/<hash>_<size>_<uploadID>.presigned`` for single-part uploads, which are checked
(size, md5 ETag) and copied to their data key on completion. Multi-part uploads are real S3 multipart
uploads on the data key, completed with the part md5s as ETags, so S3 itself refuses a wrong part.
Browser form uploads go straight to the store too, under a signed POST policy that binds key, exact size
and content type, to ``<prefix>direct/<date>/<userID>/<uploadID><ext>`` (OpenIM's layout), where they stay.

Outgoing HTTP goes through one httpx client whose transport can be injected (tests pass a local fake).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from urllib.parse import quote, urlsplit

import httpx

from openim.config import ObjectStorageConfig
from openim.objects import rules, sigv4
from openim.objects.backend import FormTarget, Location, PartTarget, Started, Stored
from openim.storage.objects.records import ObjectRecord, UploadRecord
from openim.wire.errors import ErrCode, OpenIMError, args_error

PART_URL_EXPIRE_S = 24 * 3600  # as OpenIM: part signatures last a day
MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4's limit for presigned URLs


class S3Error(Exception):
    """The store refused or failed a request; the message names the operation and S3's answer."""


def _xml_text(body: bytes, tag: str) -> str:
    root = ET.fromstring(body)
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            return element.text or ""
    return ""


class S3Backend:
    name = "s3"

    def __init__(
        self,
        cfg: ObjectStorageConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._cfg = cfg
        self._creds = sigv4.Credentials(cfg.s3_access_key, cfg.s3_secret_key, cfg.s3_region)
        self._prefix = cfg.s3_key_prefix
        self._client = httpx.AsyncClient(transport=transport, timeout=30.0)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # -- URLs -------------------------------------------------------------------------------------------
    def object_url(self, key: str, *, public: bool = False) -> str:
        endpoint = (self._cfg.s3_public_endpoint if public else "") or self._cfg.s3_endpoint
        endpoint = endpoint.rstrip("/")
        path = quote(key, safe="/~")
        if self._cfg.s3_path_style:
            return f"{endpoint}/{self._cfg.s3_bucket}/{path}"
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{self._cfg.s3_bucket}.{parts.netloc}{parts.path}/{path}"

    def bucket_url(self, *, public: bool = False) -> str:
        """Where form uploads are POSTed (ends with /)."""
        endpoint = ((self._cfg.s3_public_endpoint if public else "") or self._cfg.s3_endpoint).rstrip("/")
        if self._cfg.s3_path_style:
            return f"{endpoint}/{self._cfg.s3_bucket}/"
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{self._cfg.s3_bucket}.{parts.netloc}{parts.path}/"

    def data_key(self, content_hash: str) -> str:
        return f"{self._prefix}data/hash/{content_hash}"

    async def _call(
        self,
        method: str,
        key: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        ok: tuple[int, ...] = (200,),
        what: str,
    ) -> httpx.Response:
        url = self.object_url(key) if key else f"{self._cfg.s3_endpoint.rstrip('/')}/{self._cfg.s3_bucket}"
        signed = sigv4.sign_headers(
            self._creds, method, url, when=self._clock(), query=query, headers=headers, payload=body
        )
        try:
            resp = await self._client.request(method, url, params=list(query), headers=signed, content=body)
        except httpx.HTTPError as exc:
            raise S3Error(f"{what}: {self._cfg.s3_endpoint} unreachable: {exc}") from exc
        if resp.status_code not in ok:
            code = ""
            with contextlib.suppress(ET.ParseError):
                code = _xml_text(resp.content, "Code")
            raise S3Error(f"{what}: HTTP {resp.status_code} {code}".rstrip())
        return resp

    # -- ObjectBackend ----------------------------------------------------------------------------------
    async def check(self) -> None:
        """HEAD the bucket: wrong endpoint, credentials or bucket name fail the start, clearly."""
        try:
            await self._call("HEAD", "", what=f"bucket {self._cfg.s3_bucket}")
        except S3Error as exc:
            raise RuntimeError(f"object_storage s3: {exc}") from exc

    async def start(
        self, upload_id: str, content_hash: str, size: int, part_size: int, part_count: int, content_type: str
    ) -> Started:
        if part_count == 1:
            date = self._clock().strftime("%Y%m%d")
            return Started(key=f"{self._prefix}temp/{date}/{content_hash}_{size}_{upload_id}.presigned")
        if part_size < rules.MIN_PART_SIZE:
            raise args_error(f"partSize must be at least {rules.MIN_PART_SIZE} for S3 multipart uploads")
        key = self.data_key(content_hash)
        headers = {"content-type": content_type} if content_type else {}
        resp = await self._call("POST", key, query=[("uploads", "")], headers=headers, what="CreateMultipartUpload")
        return Started(key=key, backend_upload_id=_xml_text(resp.content, "UploadId"))

    async def sign(self, upload: UploadRecord, part_numbers: Sequence[int], local_base: str) -> list[PartTarget]:
        url = self.object_url(upload.key, public=True)
        when = self._clock()
        targets = []
        for n in part_numbers:
            query: list[tuple[str, str]] = []
            if upload.backend_upload_id:
                query = [("partNumber", str(n)), ("uploadId", upload.backend_upload_id)]
            targets.append(
                PartTarget(
                    n, sigv4.presign(self._creds, "PUT", url, expires_s=PART_URL_EXPIRE_S, when=when, query=query)
                )
            )
        return targets

    async def finish(self, upload: UploadRecord, part_md5s: Sequence[str]) -> str:
        target = self.data_key(upload.hash)
        if upload.backend_upload_id:
            parts = "".join(
                f'<Part><PartNumber>{n}</PartNumber><ETag>"{md5}"</ETag></Part>'
                for n, md5 in enumerate(part_md5s, start=1)
            )
            body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
            try:
                resp = await self._call(
                    "POST",
                    upload.key,
                    query=[("uploadId", upload.backend_upload_id)],
                    body=body,
                    what="CompleteMultipartUpload",
                )
            except S3Error as exc:
                raise args_error(f"parts rejected by the store: {exc}") from exc
            if b"<Error>" in resp.content:  # S3 may answer 200 and report the failure in the body
                raise args_error(f"parts rejected by the store: {_xml_text(resp.content, 'Code')}")
            return target
        try:
            head = await self._call("HEAD", upload.key, what="HeadObject")
        except S3Error as exc:
            raise args_error("the part was not uploaded") from exc
        if int(head.headers.get("content-length", "-1")) != upload.size:
            raise args_error(f"uploaded size differs from the announced {upload.size} bytes")
        if head.headers.get("etag", "").strip('"').lower() != part_md5s[0]:
            raise args_error("part 1: md5 mismatch")
        source = f"/{self._cfg.s3_bucket}/{quote(upload.key, safe='/~')}"
        await self._call("PUT", target, headers={"x-amz-copy-source": source}, what="CopyObject")
        await self._call("DELETE", upload.key, ok=(200, 204), what="DeleteObject")
        return target

    async def abort(self, upload: UploadRecord) -> None:
        if upload.backend_upload_id:
            await self._call(
                "DELETE",
                upload.key,
                query=[("uploadId", upload.backend_upload_id)],
                ok=(200, 204, 404),
                what="AbortMultipartUpload",
            )
        else:
            await self._call("DELETE", upload.key, ok=(200, 204, 404), what="DeleteObject")

    async def has(self, key: str) -> bool:
        try:
            await self._call("HEAD", key, what="HeadObject")
        except S3Error:
            return False
        return True

    async def locate(self, obj: ObjectRecord, expire_s: float) -> Location:
        expires = int(min(expire_s, MAX_PRESIGN_S))
        query = [("response-content-type", obj.content_type)] if obj.content_type else []
        url = sigv4.presign(
            self._creds,
            "GET",
            self.object_url(obj.key, public=True),
            expires_s=expires,
            when=self._clock(),
            query=query,
        )
        return Location(redirect=url)

    # -- browser form uploads ------------------------------------------------------------------------------
    async def start_form(self, upload_id: str, user_id: str, name: str) -> str:
        date = self._clock().strftime("%Y%m%d")
        ext = posixpath.splitext(name)[1]
        ext = ext if len(ext) <= 16 and ext[1:].isalnum() else ""
        return f"{self._prefix}direct/{date}/{user_id}/{upload_id}{ext}"

    async def form(self, upload: UploadRecord, expires_ms: int, local_url: str) -> FormTarget:
        fields = sigv4.presign_post(
            self._creds,
            bucket=self._cfg.s3_bucket,
            key=upload.key,
            size=upload.size,
            content_type=upload.content_type,
            expires_at=dt.datetime.fromtimestamp(expires_ms / 1000, dt.UTC),
            when=self._clock(),
        )
        return FormTarget(self.bucket_url(public=True), tuple(fields.items()), "file", (200,))

    async def finish_form(self, upload: UploadRecord) -> Stored:
        try:
            head = await self._call("HEAD", upload.key, ok=(200, 404), what="HeadObject")
        except S3Error as exc:
            raise OpenIMError(ErrCode.NETWORK, f"object store: {exc}") from exc
        if head.status_code == 404:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, "the file of this form has not arrived")
        size = int(head.headers.get("content-length", "-1"))
        if size != upload.size:
            raise OpenIMError(ErrCode.DATA, f"file size mismatch: {size} bytes, announced {upload.size}")
        # As OpenIM: the ETag stands for the content (it is no SDK hash, so no later upload dedupes to it).
        return Stored(upload.key, "etag_" + head.headers.get("etag", "").strip('"').lower(), size)

    async def forget_form(self, upload: UploadRecord) -> None:
        return  # the posted object is the blob itself

    async def aclose(self) -> None:
        await self._client.aclose()
