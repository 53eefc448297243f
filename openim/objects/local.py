"""Uploads on the local disk (the embedded mode): parts come to the API, blobs live under the data dir.

Layout under the root: ``uploads/<uploadID>/<n>.part`` while an upload is in progress (``form`` for a
browser form upload), ``data/<hash[:2]>/<hash>`` for complete blobs (one per content, whatever the number
of names). A form upload's file arrives through the API too (``POST <prefix>.form/<uploadID>``), under a
signed policy of our own (openim.objects.form_policy); its blob is hashed as the SDK would have, so a
later upload of the same content is instant either way. A blob is
written to a temporary file and renamed, so a reader never sees half a file and a crash leaves no blob
that lies about its content. File work runs in a worker thread: the trio loop never blocks on disk.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import trio

from openim.objects import form_policy, rules
from openim.objects.backend import FormTarget, Location, PartTarget, Started, Stored
from openim.objects.form_policy import FormPolicy, FormRefused
from openim.storage.objects.records import ObjectRecord, UploadRecord
from openim.wire.errors import ErrCode, OpenIMError, args_error

_CHUNK = 1024 * 1024
FORM_FILE = "form"  # a form upload's file in its session directory


class LocalFormWriter:
    """A posted file on its way to ``uploads/<uploadID>/form``: written to a temporary file of its own
    (two POSTs of one form never mix), renamed into place once exactly ``size`` bytes arrived."""

    def __init__(self, final: Path, size: int) -> None:
        self._final = final
        self._tmp = final.with_name(f".{FORM_FILE}.{secrets.token_hex(8)}.tmp")
        self._size = size
        self._written = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._file: BinaryIO | None = None

    async def write(self, data: bytes) -> None:
        self._written += len(data)
        if self._written > self._size:
            raise FormRefused(413, f"the file is larger than the {self._size} bytes of its policy")
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= _CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        data, self._pending, self._pending_bytes = b"".join(self._pending), [], 0

        def put() -> None:
            if self._file is None:
                if not self._final.parent.is_dir():
                    raise FormRefused(404, "upload not found or expired")
                self._file = self._tmp.open("wb")
            self._file.write(data)

        await trio.to_thread.run_sync(put)

    async def commit(self) -> None:
        if self._written != self._size:
            await self.discard()
            raise FormRefused(400, f"the file has {self._written} bytes, its policy {self._size}")
        await self._flush()

        def finish() -> None:
            assert self._file is not None  # _flush opened it
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self._final)

        await trio.to_thread.run_sync(finish)

    async def discard(self) -> None:
        def drop() -> None:
            if self._file is not None:
                self._file.close()
            self._tmp.unlink(missing_ok=True)

        await trio.to_thread.run_sync(drop)


def sdk_hash(path: Path, size: int) -> str:
    """The hash the SDK would announce for this file (md5 of each part of the server's part size, joined)."""
    part = rules.part_size(size)
    md5s = []
    with path.open("rb") as src:
        while True:
            digest = hashlib.md5()
            left = part
            while left and (chunk := src.read(min(_CHUNK, left))):
                digest.update(chunk)
                left -= len(chunk)
            if left == part:
                break
            md5s.append(digest.hexdigest())
    return rules.combined_hash(md5s)


class LocalBackend:
    name = "local"

    def __init__(self, root: Path, *, form_key: bytes | None = None) -> None:
        self._root = root
        # Signs the policies of form uploads; openim.objects.make_backend derives it from the server
        # secret so every process of a deployment accepts the forms any of them handed out.
        self._form_key = form_key if form_key is not None else secrets.token_bytes(32)

    @property
    def root(self) -> Path:
        return self._root

    def _session_dir(self, upload_id: str) -> Path:
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            raise args_error("invalid uploadID")
        return self._root / "uploads" / upload_id

    def _part_path(self, upload_id: str, part_number: int) -> Path:
        return self._session_dir(upload_id) / f"{part_number}.part"

    async def check(self) -> None:
        def probe() -> None:
            for sub in ("uploads", "data"):
                (self._root / sub).mkdir(parents=True, exist_ok=True)
            # One marker per process: several processes of a host may share the directory and start together.
            marker = self._root / f".write-test-{os.getpid()}"
            marker.write_bytes(b"ok")
            marker.unlink()

        try:
            await trio.to_thread.run_sync(probe)
        except OSError as exc:
            raise RuntimeError(f"object_storage.local_dir {self._root} is not writable: {exc.strerror or exc}") from exc

    async def start(
        self, upload_id: str, content_hash: str, size: int, part_size: int, part_count: int, content_type: str
    ) -> Started:
        path = self._session_dir(upload_id)
        await trio.to_thread.run_sync(lambda: path.mkdir(parents=True, exist_ok=True))
        return Started(key=f"uploads/{upload_id}")

    async def sign(self, upload: UploadRecord, part_numbers: Sequence[int], local_base: str) -> list[PartTarget]:
        return [PartTarget(n, f"{local_base}?partNumber={n}") for n in part_numbers]

    async def write_part(self, upload_id: str, part_number: int, data: bytes) -> None:
        """Store one part (a retried PUT replaces it)."""
        final = self._part_path(upload_id, part_number)

        def write() -> None:
            if not final.parent.is_dir():
                raise OpenIMError(ErrCode.FILE_UPLOADED_EXPIRED, "upload not found or expired")
            tmp = final.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, final)

        await trio.to_thread.run_sync(write)

    async def finish(self, upload: UploadRecord, part_md5s: Sequence[str]) -> str:
        key = f"data/{upload.hash[:2]}/{upload.hash}"
        target = self._root / key
        session = self._session_dir(upload.upload_id)

        def join() -> None:
            if target.is_file():  # the same content completed meanwhile: keep that blob
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{upload.upload_id}.tmp")
            size = 0
            try:
                with tmp.open("wb") as out:
                    for number, expected in enumerate(part_md5s, start=1):
                        part = session / f"{number}.part"
                        if not part.is_file():
                            raise args_error(f"part {number} was not uploaded")
                        digest = hashlib.md5()
                        with part.open("rb") as src:
                            while chunk := src.read(_CHUNK):
                                digest.update(chunk)
                                out.write(chunk)
                                size += len(chunk)
                        if digest.hexdigest() != expected:
                            raise args_error(f"part {number}: md5 mismatch")
                    out.flush()
                    os.fsync(out.fileno())
                if size != upload.size:
                    raise args_error(f"uploaded {size} bytes, the upload announced {upload.size}")
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)

        await trio.to_thread.run_sync(join)
        await trio.to_thread.run_sync(lambda: shutil.rmtree(session, ignore_errors=True))
        return key

    async def abort(self, upload: UploadRecord) -> None:
        session = self._session_dir(upload.upload_id)
        await trio.to_thread.run_sync(lambda: shutil.rmtree(session, ignore_errors=True))

    async def has(self, key: str) -> bool:
        path = self._root / key
        return await trio.to_thread.run_sync(path.is_file)

    async def locate(self, obj: ObjectRecord, expire_s: float) -> Location:
        return Location(path=self._root / obj.key)

    # -- browser form uploads ------------------------------------------------------------------------------
    async def start_form(self, upload_id: str, user_id: str, name: str) -> str:
        path = self._session_dir(upload_id)
        await trio.to_thread.run_sync(lambda: path.mkdir(parents=True, exist_ok=True))
        return f"uploads/{upload_id}/{FORM_FILE}"

    async def form(self, upload: UploadRecord, expires_ms: int, local_url: str) -> FormTarget:
        policy = FormPolicy(upload.upload_id, upload.size, upload.content_type, expires_ms)
        encoded, signature = form_policy.sign(policy, self._form_key)
        fields = [(form_policy.POLICY_FIELD, encoded), (form_policy.SIGNATURE_FIELD, signature)]
        if upload.content_type:
            fields.append((form_policy.CONTENT_TYPE_FIELD, upload.content_type))
        return FormTarget(local_url, tuple(fields), form_policy.FORM_FILE_FIELD, (200,))

    def check_form(self, upload_id: str, fields: dict[str, str], now_ms: int) -> FormPolicy:
        policy = form_policy.verify(
            fields.get(form_policy.POLICY_FIELD, ""), fields.get(form_policy.SIGNATURE_FIELD, ""),
            self._form_key, now_ms=now_ms,
        )
        if policy.upload_id != upload_id:
            raise FormRefused(403, "the policy is for another upload")
        sent_type = fields.get(form_policy.CONTENT_TYPE_FIELD)
        if sent_type is not None and sent_type != policy.content_type:
            raise FormRefused(403, f"Content-Type {sent_type!r} differs from the policy's")
        return policy

    async def form_writer(self, upload_id: str, size: int) -> LocalFormWriter:
        return LocalFormWriter(self._session_dir(upload_id) / FORM_FILE, size)

    async def finish_form(self, upload: UploadRecord) -> Stored:
        posted = self._session_dir(upload.upload_id) / FORM_FILE

        def store() -> Stored:
            try:
                size = posted.stat().st_size
            except FileNotFoundError:
                raise OpenIMError(ErrCode.RECORD_NOT_FOUND, "the file of this form has not arrived") from None
            if size != upload.size:
                raise OpenIMError(ErrCode.DATA, f"file size mismatch: {size} bytes, announced {upload.size}")
            content_hash = sdk_hash(posted, size)
            key = f"data/{content_hash[:2]}/{content_hash}"
            target = self._root / key
            if not target.is_file():  # else the same content is stored already: keep that blob
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{upload.upload_id}.tmp")
                tmp.unlink(missing_ok=True)
                # A link, not a move: the posted file stays until forget_form, so a completion that
                # fails after this step can be retried.
                os.link(posted, tmp)
                os.replace(tmp, target)
            return Stored(key, content_hash, size)

        return await trio.to_thread.run_sync(store)

    async def forget_form(self, upload: UploadRecord) -> None:
        await self.abort(upload)
