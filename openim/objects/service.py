"""The object service behind /object/*: upload sessions, deduplication, limits, and reads.

The flow is the JS SDK's (its uploadFile): ``part_size`` -> ``initiate`` (instant when the content is
known already) -> one PUT per part to the targets the backend signed -> ``complete`` (part md5s checked,
blob joined, name recorded). Names point at content by hash, so the same file uploaded twice is stored
once. A session that is never completed expires and :class:`UploadSweeper` removes what it left.

Browser form uploads are sessions too: ``initiate_form`` -> one multipart/form-data POST of the fields
and the file (to S3 under its signed POST policy, or to this server under ours) -> ``complete_form``
(the file checked, the name recorded). Same name rules, size limit and content types.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import trio

from openim.clock import now_ms
from openim.config import ObjectStorageConfig
from openim.objects import rules
from openim.objects.backend import FormFileWriter, FormReceiver, FormTarget, Location, ObjectBackend, PartTarget
from openim.objects.form_policy import FormRefused
from openim.ops.logging import get_log
from openim.storage.objects.records import ObjectRecord, UploadRecord
from openim.storage.port import Store
from openim.wire.errors import ErrCode, OpenIMError, args_error, not_found

log = get_log("objects")

UPLOAD_PATH = ".upload/"  # under the object URL prefix: <prefix>.upload/<uploadID>?partNumber=N
FORM_PATH = ".form/"  # under the object URL prefix: <prefix>.form/<uploadID>, where local forms are POSTed
SWEEP_INTERVAL_S = 300.0
FORM_DEFAULT_MS = 10 * 60 * 1000  # as OpenIM: a form is valid 10 minutes (app admins may ask otherwise)
FORM_MAX_MS = 7 * 24 * 3600 * 1000  # the longest an admin may ask for (SigV4's limit for presigned URLs)


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """What initiate answers: either ``url`` (already stored) or a session to upload parts to."""

    url: str = ""
    upload_id: str = ""
    part_size: int = 0
    sign_url: str = ""
    parts: tuple[PartTarget, ...] = ()
    expire_time: int = 0


@dataclass(frozen=True, slots=True)
class FormTicket:
    """What initiate_form answers: the session id and the form to POST."""

    form_id: str
    target: FormTarget
    expires: int  # ms: the POST must start before


class ObjectService:
    def __init__(self, store: Store, backend: ObjectBackend, cfg: ObjectStorageConfig) -> None:
        self._store = store
        self.backend = backend
        self._cfg = cfg

    # -- limits ---------------------------------------------------------------------------------------
    def _check_size(self, size: int) -> None:
        if size <= 0:
            raise args_error("size must be greater than 0")
        if size > self._cfg.max_file_size:
            raise args_error(f"file of {size} bytes is larger than the limit of {self._cfg.max_file_size} bytes")

    def _check_file(self, size: int, content_type: str) -> None:
        self._check_size(size)
        if not rules.content_type_allowed(content_type, self._cfg.content_types):
            raise args_error(f"content type {content_type or '(none)'} is not accepted here")

    def part_size(self, size: int) -> int:
        part = rules.part_size(size)
        self._check_size(size)
        return part

    # -- initiate ---------------------------------------------------------------------------------------
    async def initiate(
        self,
        *,
        user_id: str,
        is_admin: bool,
        name: str,
        content_hash: str,
        size: int,
        part_size: int,
        content_type: str,
        cause: str,
        url_prefix: str,
    ) -> UploadTicket:
        rules.check_name(name, user_id, is_admin=is_admin)
        content_hash = rules.check_md5(content_hash)
        self._check_file(size, content_type)
        rules.check_part_size(size, part_size)
        known = await self._store.find_object_by_hash(content_hash)
        if known is not None and await self.backend.has(known.key):
            await self._record(name, user_id, known.hash, known.key, known.size, content_type, cause)
            return UploadTicket(url=url_prefix + name)
        count = rules.part_count(size, part_size)
        upload_id = secrets.token_urlsafe(24)
        started = await self.backend.start(upload_id, content_hash, size, part_size, count, content_type)
        expire = now_ms() + int(self._cfg.upload_expire * 1000)
        upload = UploadRecord(
            upload_id=upload_id,
            user_id=user_id,
            name=name,
            hash=content_hash,
            size=size,
            part_size=part_size,
            part_count=count,
            content_type=content_type,
            cause=cause,
            key=started.key,
            backend_upload_id=started.backend_upload_id,
            expire_time=expire,
        )
        await self._store.save_upload(upload)
        local_base = url_prefix + UPLOAD_PATH + upload_id
        parts = await self.backend.sign(upload, range(1, count + 1), local_base)
        return UploadTicket(
            upload_id=upload_id, part_size=part_size, sign_url=local_base, parts=tuple(parts), expire_time=expire
        )

    async def _live_upload(self, upload_id: str) -> UploadRecord:
        upload = await self._store.get_upload(upload_id) if upload_id else None
        if upload is None or upload.expire_time < now_ms():
            raise OpenIMError(ErrCode.FILE_UPLOADED_EXPIRED, "upload not found or expired")
        return upload

    async def sign(
        self, *, user_id: str, is_admin: bool, upload_id: str, part_numbers: Sequence[int], url_prefix: str
    ) -> list[PartTarget]:
        """New targets for some parts of a live session (auth_sign)."""
        upload = await self._live_upload(upload_id)
        if not is_admin and upload.user_id != user_id:
            raise OpenIMError(ErrCode.NO_PERMISSION, "not your upload")
        if upload.is_form:
            raise args_error("a form upload has no parts to sign")
        bad = [n for n in part_numbers if not 1 <= n <= upload.part_count]
        if bad:
            raise args_error(f"part numbers out of range 1..{upload.part_count}: {bad}")
        return await self.backend.sign(upload, part_numbers, url_prefix + UPLOAD_PATH + upload_id)

    # -- parts through the API (local backend) -------------------------------------------------------------
    async def part_length(self, upload_id: str, part_number: int) -> int:
        """The exact size part ``part_number`` of a live upload must have. Asked BEFORE a part's body is
        read, so an unknown upload or part number is refused without taking a byte of it."""
        upload = await self._live_upload(upload_id)
        if upload.is_form:
            raise args_error("a form upload takes no parts")
        if not 1 <= part_number <= upload.part_count:
            raise args_error(f"partNumber must be within 1..{upload.part_count}")
        if getattr(self.backend, "write_part", None) is None:
            raise OpenIMError(ErrCode.NO_PERMISSION, "parts are not uploaded through this server")
        last = part_number == upload.part_count
        return upload.size - upload.part_size * (upload.part_count - 1) if last else upload.part_size

    async def receive_part(self, upload_id: str, part_number: int, data: bytes) -> None:
        """A part PUT to this server. The unguessable uploadID is the credential, as a presigned URL's
        signature is for S3; sizes are checked against the session so a client cannot fill the disk."""
        expected = await self.part_length(upload_id, part_number)
        if len(data) != expected:
            raise args_error(f"part {part_number} must be {expected} bytes, got {len(data)}")
        write_part = getattr(self.backend, "write_part", None)
        assert write_part is not None  # part_length refused otherwise
        await write_part(upload_id, part_number, data)

    # -- complete -----------------------------------------------------------------------------------------
    async def complete(
        self,
        *,
        user_id: str,
        is_admin: bool,
        upload_id: str,
        part_md5s: Sequence[str],
        name: str,
        content_type: str,
        cause: str,
        url_prefix: str,
    ) -> str:
        rules.check_name(name, user_id, is_admin=is_admin)
        upload = await self._live_upload(upload_id)
        if not is_admin and upload.user_id != user_id:
            raise OpenIMError(ErrCode.NO_PERMISSION, "not your upload")
        if upload.is_form:
            raise args_error("a form upload is completed with /object/complete_form_data")
        md5s = [rules.check_md5(p, "part md5") for p in part_md5s]
        if rules.combined_hash(md5s) != upload.hash:
            raise args_error("md5 mismatching: the parts do not make up the announced hash")
        if len(md5s) != upload.part_count:
            raise args_error(f"expected {upload.part_count} part md5s, got {len(md5s)}")
        content_type = content_type or upload.content_type
        self._check_file(upload.size, content_type)
        key = await self.backend.finish(upload, md5s)
        await self._store.delete_upload(upload_id)
        await self._record(name, upload.user_id, upload.hash, key, upload.size, content_type, cause or upload.cause)
        log.info("object.stored", name=name, size=upload.size, backend=self.backend.name)
        return url_prefix + name

    # -- browser form uploads ---------------------------------------------------------------------------------
    async def initiate_form(
        self,
        *,
        user_id: str,
        is_admin: bool,
        name: str,
        size: int,
        content_type: str,
        group: str,
        millisecond: int,
        url_prefix: str,
    ) -> FormTicket:
        """A form session for one file of exactly ``size`` bytes. Its form is valid 10 minutes, or as
        long as an app admin asks (``millisecond``, at most 7 days); the session outlives it by
        ``upload_expire``, the time left to complete it."""
        rules.check_name(name, user_id, is_admin=is_admin)
        self._check_file(size, content_type)
        valid_ms = min(millisecond, FORM_MAX_MS) if is_admin and millisecond > 0 else FORM_DEFAULT_MS
        upload_id = secrets.token_urlsafe(24)
        key = await self.backend.start_form(upload_id, user_id, name)
        expires = now_ms() + valid_ms
        upload = UploadRecord(
            upload_id=upload_id,
            user_id=user_id,
            name=name,
            hash="",
            size=size,
            part_size=size,
            part_count=0,
            content_type=content_type,
            cause=group,
            key=key,
            expire_time=expires + int(self._cfg.upload_expire * 1000),
        )
        await self._store.save_upload(upload)
        target = await self.backend.form(upload, expires, url_prefix + FORM_PATH + upload_id)
        return FormTicket(upload_id, target, expires)

    async def receive_form(self, upload_id: str, fields: Mapping[str, str]) -> FormFileWriter:
        """A form POSTed to this server, once its fields are read and before a byte of its file is:
        where the file goes, or FormRefused (policy missing, forged, expired, for another upload) or
        OpenIMError (the session is gone)."""
        backend = self.backend
        if not isinstance(backend, FormReceiver):
            raise FormRefused(404, "forms are not posted to this server")
        policy = backend.check_form(upload_id, dict(fields), now_ms())
        upload = await self._live_upload(upload_id)
        if not upload.is_form or upload.size != policy.size:
            raise FormRefused(403, "the policy does not match the upload")
        return await backend.form_writer(upload_id, policy.size)

    async def complete_form(self, *, user_id: str, is_admin: bool, form_id: str, url_prefix: str) -> str:
        """Record the name of a form upload whose file arrived; its URL."""
        if not form_id:
            raise args_error("id is empty")
        upload = await self._live_upload(form_id)
        if not upload.is_form:
            raise args_error("id is not a form upload")
        if not is_admin and upload.user_id != user_id:
            raise OpenIMError(ErrCode.NO_PERMISSION, "not your upload")
        stored = await self.backend.finish_form(upload)
        # Once the session is gone the sweeper can no longer take the blob for an abandoned upload's.
        if not await self._store.delete_upload(form_id):
            raise OpenIMError(ErrCode.FILE_UPLOADED_EXPIRED, "upload not found or expired")
        await self._record(
            upload.name, upload.user_id, stored.hash, stored.key, stored.size, upload.content_type, upload.cause
        )
        try:
            await self.backend.forget_form(upload)
        except Exception as exc:  # leftovers cost space, not correctness
            log.warning("form.forget_failed", upload_id=form_id, error=f"{type(exc).__name__}: {exc}")
        log.info("object.stored", name=upload.name, size=stored.size, backend=self.backend.name, form=True)
        return url_prefix + upload.name

    async def _record(
        self, name: str, user_id: str, content_hash: str, key: str, size: int, content_type: str, cause: str
    ) -> None:
        await self._store.put_object(
            ObjectRecord(name, user_id, content_hash, key, size, content_type, cause, now_ms())
        )

    # -- reads ---------------------------------------------------------------------------------------------
    async def find(self, name: str) -> tuple[ObjectRecord, Location]:
        obj = await self._store.get_object(name) if name else None
        if obj is None:
            raise not_found(f"object {name} not found")
        return obj, await self.backend.locate(obj, self._cfg.url_expire)

    async def access_url(self, name: str, url_prefix: str) -> tuple[str, int]:
        """A URL a client can GET without a token, and until when it works (ms)."""
        _, where = await self.find(name)
        expire = now_ms() + int(self._cfg.url_expire * 1000)
        return (where.redirect or url_prefix + name), expire

    # -- housekeeping --------------------------------------------------------------------------------------
    async def sweep(self, *, limit: int = 100) -> int:
        """Remove expired sessions and their parts; the number removed."""
        removed = 0
        for upload in await self._store.expired_uploads(now_ms(), limit=limit):
            try:
                await self.backend.abort(upload)
            except Exception as exc:  # leftover parts cost space, not correctness; try again next round
                log.warning("upload.abort_failed", upload_id=upload.upload_id, error=f"{type(exc).__name__}: {exc}")
                continue
            if await self._store.delete_upload(upload.upload_id):
                removed += 1
        return removed


class UploadSweeper:
    """A module of processes that serve /object/*: drops abandoned uploads now and then."""

    name = "upload-sweeper"

    def __init__(self, objects: ObjectService, interval_s: float = SWEEP_INTERVAL_S) -> None:
        self._objects = objects
        self._interval = interval_s
        self._scope = trio.CancelScope()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # A backend that cannot work (unwritable directory, wrong S3 credentials or bucket) stops the
        # process at start with the reason, instead of failing the first upload hours later.
        await self._objects.backend.check()
        log.info("objects.ready", backend=self._objects.backend.name)
        task_status.started()
        with self._scope:
            while True:
                await trio.sleep(self._interval)
                try:
                    removed = await self._objects.sweep()
                except Exception as exc:  # the store is down: the next round retries
                    log.warning("upload.sweep_failed", error=f"{type(exc).__name__}: {exc}")
                    continue
                if removed:
                    log.info("upload.swept", removed=removed)
        # Drained: wait for the runtime's cancellation; a module that returns is taken for a crash (exit 1,
        # every connection dropped instead of the graceful 1001 drain).
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._scope.cancel()
