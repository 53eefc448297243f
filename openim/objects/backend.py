"""What the object service asks of a place that keeps bytes: local disk (embedded) or S3 (cluster).

The service owns names, sessions, limits and hashes (the Store holds their records); a backend only
knows keys: where the client sends each part (or its browser form), how the parts become one blob, and
how a client reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from openim.objects.form_policy import FormPolicy
from openim.storage.objects.records import ObjectRecord, UploadRecord


@dataclass(frozen=True, slots=True)
class PartTarget:
    """Where the client PUTs one part, with the query parameters and headers it must add."""

    part_number: int
    url: str
    query: tuple[tuple[str, str], ...] = ()
    header: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Started:
    """A backend's side of a new upload: the key the parts go to and its own upload id, if any."""

    key: str
    backend_upload_id: str = ""


@dataclass(frozen=True, slots=True)
class FormTarget:
    """Where a browser POSTs a form upload: the fields to send first, then the file in ``file_field``."""

    url: str
    fields: tuple[tuple[str, str], ...]
    file_field: str = "file"
    success_codes: tuple[int, ...] = (200,)


@dataclass(frozen=True, slots=True)
class Stored:
    """A form upload that arrived: where its bytes are, their hash (as objects record it) and size."""

    key: str
    hash: str
    size: int


@dataclass(frozen=True, slots=True)
class Location:
    """How a client gets an object: a local file to stream, or a URL to be redirected to."""

    path: Path | None = None
    redirect: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class ObjectBackend(Protocol):
    name: str

    async def check(self) -> None:
        """Raise with a clear message when the backend cannot work (called once at start)."""

    async def start(
        self, upload_id: str, content_hash: str, size: int, part_size: int, part_count: int, content_type: str
    ) -> Started:
        """Prepare an upload of ``part_count`` parts of ``part_size`` bytes (the last may be shorter)."""

    async def sign(self, upload: UploadRecord, part_numbers: Sequence[int], local_base: str) -> list[PartTarget]:
        """Targets for the listed parts. ``local_base`` is this server's part-upload URL of the session
        (used by backends whose parts come through the API)."""

    async def finish(self, upload: UploadRecord, part_md5s: Sequence[str]) -> str:
        """Join the parts into the blob of ``upload.hash``; return its key. Raise OpenIMError when a part
        is missing or its md5 differs."""

    async def abort(self, upload: UploadRecord) -> None:
        """Drop what an abandoned upload left behind (best effort)."""

    async def has(self, key: str) -> bool:
        """Whether the blob still exists (a deduplicated upload must not point at a deleted blob)."""

    async def locate(self, obj: ObjectRecord, expire_s: float) -> Location: ...

    # -- browser form uploads (/object/initiate_form_data, /object/complete_form_data) --------------------
    async def start_form(self, upload_id: str, user_id: str, name: str) -> str:
        """Prepare a form upload; the key its file will be written to."""

    async def form(self, upload: UploadRecord, expires_ms: int, local_url: str) -> FormTarget:
        """The form that uploads exactly ``upload.size`` bytes of ``upload.content_type`` (any when
        empty) until ``expires_ms``. ``local_url``: this server's form URL of the upload (for backends
        whose forms come through the API)."""

    async def finish_form(self, upload: UploadRecord) -> Stored:
        """Check the file arrived whole and make it an object's blob. Raise OpenIMError 1004 when it has
        not arrived, 90007 when its size differs. Leaves what ``forget_form`` removes, so a completion
        that fails after this can be retried."""

    async def forget_form(self, upload: UploadRecord) -> None:
        """Drop what a completed form upload left besides its blob (best effort)."""


@runtime_checkable
class FormReceiver(Protocol):
    """A backend whose form uploads are POSTed to this server (the local disk)."""

    def check_form(self, upload_id: str, fields: dict[str, str], now_ms: int) -> FormPolicy:
        """The verified policy of a form posted for ``upload_id``; FormRefused when it is missing,
        forged, expired, for another upload or disagrees with its fields."""

    async def form_writer(self, upload_id: str, size: int) -> FormFileWriter:
        """Where the file's bytes go, exactly ``size`` of them."""


class FormFileWriter(Protocol):
    async def write(self, data: bytes) -> None:
        """Append; FormRefused (413) once more than the policy's size arrived."""

    async def commit(self) -> None:
        """The file is complete: FormRefused (400) unless exactly the size arrived; then it is durable."""

    async def discard(self) -> None: ...
