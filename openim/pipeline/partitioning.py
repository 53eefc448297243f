"""Which partition a conversation's messages go to: the same in every process and across restarts."""

from __future__ import annotations

import zlib

__all__ = ["partition_of"]


def partition_of(conversation_id: str, partitions: int) -> int:
    """crc32, not hash(): Python salts str hashes per process. One partition (the in-process hand-off)
    needs no hash at all."""
    return zlib.crc32(conversation_id.encode()) % partitions if partitions > 1 else 0
