"""The provider interface of offline push: one notification per device token, sent in batches.

A provider says how a batch went: which notifications went out, which tokens are dead (the app was
uninstalled or the token rotated: the caller forgets them) and which failed for now (counted, not
retried: offline push is best effort, the message itself is safe in the store and synced on the next
connection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio


class ProviderMisconfigured(Exception):
    """The provider cannot work with the configuration given; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Notification:
    user_id: str
    platform_id: int
    token: str
    title: str
    body: str
    badge: int = 0
    data: Mapping[str, str] = field(default_factory=dict)  # conversationID, clientMsgID, ex, ...


@dataclass(slots=True)
class PushResult:
    sent: int = 0
    failed: int = 0
    dead_tokens: list[str] = field(default_factory=list)
    skipped: int = 0  # devices of a platform no provider serves (several providers, platform_providers)

    def add(self, other: PushResult) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.dead_tokens.extend(other.dead_tokens)


class PushProvider(Protocol):
    name: str

    async def check(self) -> None:
        """Raise ProviderMisconfigured when the provider cannot authenticate or reach its service."""

    async def send(self, batch: Sequence[Notification]) -> PushResult: ...

    async def aclose(self) -> None: ...


async def send_each(
    batch: Sequence[Notification], send_one: Callable[[Notification, PushResult], Awaitable[None]]
) -> PushResult:
    """A batch as one request per notification, all at once (``send_one`` bounds its own concurrency and
    counts its outcome into the shared result): for the providers whose API takes one token per request."""
    result = PushResult()
    async with trio.open_nursery() as nursery:
        for n in batch:
            nursery.start_soon(send_one, n, result)
    return result
