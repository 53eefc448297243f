"""The incremental-sync rules every versioned list shares (friends, groups, members, conversations):
OpenIM's version-log read rule, the ``idHash`` of the full-ID endpoints, and pagination. Pure functions,
imported by the services that serve those lists, so that none of them imports another for them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openim.storage.messages.records import VersionLog, VersionState
from openim.wire.errors import args_error
from openim.wire.pb import sdkws_pb2

SYNC_LIMIT = 200  # more pending changes than this and the client is told to reload everything

_VERSION_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")


def is_valid_version_id(version_id: str) -> bool:
    """OpenIM's versionID is a Mongo ObjectID: 24 hex digits, never all zeros."""
    return bool(_VERSION_ID_RE.match(version_id)) and version_id.strip("0") != ""


@dataclass(frozen=True, slots=True)
class IncrementalPlan:
    """What an incremental-sync answer holds before the elements are re-read from the store."""

    version_id: str
    version: int
    full: bool
    insert_ids: list[str] = field(default_factory=list)
    update_ids: list[str] = field(default_factory=list)
    delete_ids: list[str] = field(default_factory=list)


def plan_incremental(
    current: VersionLog, client_version_id: str, client_version: int, *, limit: int = SYNC_LIMIT
) -> IncrementalPlan:
    """The version-log read rule of OpenIM's incremental sync, for any log kind.

    ``current`` is the log header plus its entries newer than ``client_version`` (Store.get_version_log
    with ``since=client_version``). A client that cannot be brought up to date step by step — no valid
    pair, a recreated log, a log older than the client, or more than ``limit`` changes — gets
    ``full=True`` with empty lists and must reload through the list endpoints; the lists are empty then
    because the SDK would otherwise apply a partial diff on top of a reload.
    """
    head = IncrementalPlan(current.version_id, current.version, full=True)
    if not is_valid_version_id(client_version_id) or client_version <= 0:
        return head
    if client_version_id.lower() != current.version_id.lower():
        return head
    if client_version == current.version:
        return replace(head, full=False)
    if current.version < client_version:
        return head
    entries = [e for e in current.entries if e.version > client_version]
    if len(entries) > limit:
        return head
    by_state: dict[VersionState, list[str]] = {s: [] for s in VersionState}
    for entry in entries:
        by_state[entry.state].append(entry.e_id)
    return IncrementalPlan(
        current.version_id,
        current.version,
        full=False,
        insert_ids=by_state[VersionState.INSERT],
        update_ids=by_state[VersionState.UPDATE],
        delete_ids=by_state[VersionState.DELETE],
    )


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def go_json_strings(ids: Sequence[str]) -> bytes:
    """Go's ``json.Marshal([]string)``: compact, UTF-8, and HTML-safe (``<``, ``>``, ``&`` and the two
    JavaScript line separators escaped), which Python's encoder does not do by itself."""
    text = json.dumps(list(ids), ensure_ascii=False, separators=(",", ":"))
    return _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group(0)], text).encode("utf-8")


def id_hash(ids: Sequence[str]) -> int:
    """``idHash`` of the full-ID endpoints: the first 8 bytes, big-endian, of md5 over the Go JSON of
    the list; 0 for an empty list. A client that sends the hash it holds gets ``equal`` instead of
    the list when nothing changed."""
    if not ids:
        return 0
    return int.from_bytes(hashlib.md5(go_json_strings(ids)).digest()[:8], "big")


def full_ids(ids: Sequence[str], client_hash: int) -> tuple[bool, Sequence[str]]:
    """A full-ID endpoint's ``(equal, IDs to list)``: nothing to list when the client's hash is that of ``ids``."""
    return (True, []) if client_hash == id_hash(ids) else (False, ids)


def page(items: Sequence[Any], pagination: sdkws_pb2.RequestPagination) -> list[Any]:
    """OpenIM pagination: 1-based pages; a page past the end is empty (the total stays right)."""
    start, size = page_window(pagination)
    return list(items[start : start + size])


def page_window(pagination: sdkws_pb2.RequestPagination) -> tuple[int, int]:
    """(offset, limit) of a checked 1-based page, for a store read of one page."""
    check_pagination(pagination)
    return (pagination.pageNumber - 1) * pagination.showNumber, pagination.showNumber


def check_pagination(pagination: sdkws_pb2.RequestPagination) -> None:
    if pagination.pageNumber < 1:
        raise args_error("pagination.pageNumber must be at least 1")
    if pagination.showNumber < 1:
        raise args_error("pagination.showNumber must be at least 1")
