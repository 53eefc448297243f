"""The upload rules of OpenIM's object API (/object/*), as pure functions.

Part sizing follows MinIO's limits, which the SDKs were written against: parts of 5 MiB up to 5 GiB, at
most 10,000 of them. Hashes are the SDK's: the md5 hex of every part, joined with commas, hashed again.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Sequence
from typing import Final

from openim.wire.errors import ErrCode, OpenIMError, args_error

MIN_PART_SIZE: Final = 5 * 1024 * 1024
MAX_PART_SIZE: Final = 5 * 1024 * 1024 * 1024
MAX_PARTS: Final = 10_000
MAX_NAME_BYTES: Final = 1024

_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


def part_size(size: int) -> int:
    """The part size the server asks for: 5 MiB while that needs at most 10,000 parts, else just enough."""
    if size <= 0:
        raise args_error("size must be greater than 0")
    if size > MAX_PART_SIZE * MAX_PARTS:
        raise args_error(f"size must be at most {MAX_PART_SIZE * MAX_PARTS}")
    if size <= MIN_PART_SIZE * MAX_PARTS:
        return MIN_PART_SIZE
    return -(-size // MAX_PARTS)


def part_count(size: int, part: int) -> int:
    return max(1, -(-size // part))


def check_part_size(size: int, part: int) -> None:
    """A client-chosen part size is fine when the file fits in 10,000 parts of it."""
    if part <= 0:
        raise args_error("partSize must be greater than 0")
    if part > MAX_PART_SIZE:
        raise args_error(f"partSize must be at most {MAX_PART_SIZE}")
    if part_count(size, part) > MAX_PARTS:
        raise args_error(f"partSize {part} is too small: a file of {size} bytes would need over {MAX_PARTS} parts")


def check_name(name: str, user_id: str, *, is_admin: bool) -> None:
    """OpenIM's name rule: non-empty, relative, at most 1024 bytes; a user writes under ``<userID>/`` only."""
    if not name:
        raise args_error("name is empty")
    if name.startswith("/"):
        raise args_error("name must not start with /")
    if "\x00" in name:
        raise args_error("name must not contain NUL")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise args_error("name is not valid UTF-8") from exc
    if len(encoded) > MAX_NAME_BYTES:
        raise args_error(f"name is longer than {MAX_NAME_BYTES} bytes")
    if not is_admin and not name.startswith(f"{user_id}/"):
        raise OpenIMError(ErrCode.NO_PERMISSION, f"name must start with {user_id}/")


def check_md5(value: str, what: str = "hash") -> str:
    """Lower-cased md5 hex, or 1001."""
    lowered = value.lower()
    if not _MD5_HEX.match(lowered):
        raise args_error(f"{what} is not an md5 hex string: {value!r}")
    return lowered


def combined_hash(part_md5s: Sequence[str]) -> str:
    """The SDK's content hash: md5 hex of the comma-joined md5 hex of each part."""
    return hashlib.md5(",".join(part_md5s).encode()).hexdigest()


def content_type_allowed(content_type: str, patterns: Sequence[str]) -> bool:
    """True when no patterns are set, or the type (parameters ignored) matches one (``image/*``)."""
    if not patterns:
        return True
    bare = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(bare, p.lower()) for p in patterns)
