"""Open connections per listener and per client address, counted at accept time.

A listener asks ``acquire(ip)`` for every accepted socket before reading a byte from it and calls
``release(ip)`` when the connection ends; a refused socket is answered with a canned response and
closed at once, so a flood of idle or half-sent connections from one address cannot take the file
descriptors every other user needs.
"""

from __future__ import annotations

import json

from openim.wire.errors import ErrCode, error_envelope


class ConnectionLimiter:
    """At most ``max_total`` connections, and at most ``per_ip`` from one address (0 = no limit);
    addresses in ``exempt`` count toward the total only."""

    __slots__ = ("_by_ip", "_exempt", "_max_total", "_per_ip", "total")

    def __init__(self, max_total: int, per_ip: int, exempt: frozenset[str] = frozenset()) -> None:
        self._max_total = max_total
        self._per_ip = per_ip
        self._exempt = exempt
        self._by_ip: dict[str, int] = {}
        self.total = 0

    def acquire(self, ip: str) -> str | None:
        """Take a slot for ``ip``; answers None, or which limit refused it ("total" or "per_ip")."""
        if self._max_total and self.total >= self._max_total:
            return "total"
        if ip in self._exempt:
            self.total += 1
            return None
        held = self._by_ip.get(ip, 0)
        if self._per_ip and held >= self._per_ip:
            return "per_ip"
        self._by_ip[ip] = held + 1
        self.total += 1
        return None

    def release(self, ip: str) -> None:
        if ip in self._exempt:
            self.total -= 1
            return
        held = self._by_ip.get(ip, 0) - 1
        if held > 0:
            self._by_ip[ip] = held
        else:
            self._by_ip.pop(ip, None)
        self.total -= 1

    def held_by(self, ip: str) -> int:
        return self._by_ip.get(ip, 0)


def refusal_response(detail: str) -> bytes:
    """The bytes written to a refused socket: HTTP 200 with OpenIM's 1601 envelope, connection closed
    (what OpenIM's gateway answers when it is full; REST clients read the same envelope)."""
    body = json.dumps(error_envelope(ErrCode.CONN_OVER_MAX_NUM_LIMIT, detail), separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\naccess-control-allow-origin: *\r\n\r\n"
    )
    return head.encode("latin-1") + body
