"""What the object service asks of a place that keeps bytes: local disk (embedded) or S3 (cluster).

The service owns names, sessions, limits and hashes (the Store holds their records); a backend only
knows keys: where the client sends each part, how the parts become one blob, and how a client reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
