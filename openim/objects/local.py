"""Uploads on the local disk (the embedded mode): parts come to the API, blobs live under the data dir.

Layout under the root: ``uploads/<uploadID>/<n>.part`` while an upload is in progress,
``data/<hash[:2]>/<hash>`` for complete blobs (one per content, whatever the number of names). A blob is
written to a temporary file and renamed, so a reader never sees half a file and a crash leaves no blob
that lies about its content. File work runs in a worker thread: the trio loop never blocks on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import trio

from openim.objects.backend import Location, PartTarget, Started
from openim.storage.objects.records import ObjectRecord, UploadRecord
from openim.wire.errors import ErrCode, OpenIMError, args_error

_CHUNK = 1024 * 1024


class LocalBackend:
    name = "local"

    def __init__(self, root: Path) -> None:
        self._root = root

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
