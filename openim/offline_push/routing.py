"""Several providers at once (``offline_push.providers``): each notification goes to the provider of its
device's platform (APNs for iOS, FCM for Android by default), so the Android and iOS devices of the same
users are pushed in one deployment. To the sender it is one provider.

A notification whose platform no provider serves is not sent and counted as ``skipped``. A provider that
raises fails only its own notifications: the others still go out and their dead tokens are still reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import trio

from openim.offline_push.provider import Notification, PushProvider, PushResult
from openim.ops.logging import get_log

log = get_log("offline_push")


class PlatformRouter:
    """A PushProvider over named providers and a platform id -> provider name table."""

    def __init__(self, providers: Mapping[str, PushProvider], routes: Mapping[int, str]) -> None:
        unknown = sorted(set(routes.values()) - set(providers))
        if unknown:
            raise ValueError(f"routes name providers that are not given: {', '.join(unknown)}")
        self._providers = dict(providers)
        self._routes = dict(routes)
        self.name = "+".join(self._providers)

    def provider_for(self, platform_id: int) -> str | None:
        """The name of the provider that pushes to devices of this platform (None: no push)."""
        return self._routes.get(platform_id)

    async def check(self) -> None:
        for provider in self._providers.values():
            await provider.check()

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        groups: dict[str, list[Notification]] = {}
        unrouted: dict[int, int] = {}
        for n in batch:
            name = self._routes.get(n.platform_id)
            if name is None:
                unrouted[n.platform_id] = unrouted.get(n.platform_id, 0) + 1
            else:
                groups.setdefault(name, []).append(n)
        result = PushResult(skipped=sum(unrouted.values()))
        if unrouted:
            log.info("offline_push.unrouted", platforms=sorted(unrouted), devices=result.skipped)

        async def send_group(name: str, group: list[Notification]) -> None:
            try:
                result.add(await self._providers[name].send(group))
            except Exception:
                log.error("offline_push.provider_failed", provider=name, devices=len(group), exc_info=True)
                result.failed += len(group)

        # Concurrently: a slow provider does not hold the other platforms' pushes back.
        async with trio.open_nursery() as nursery:
            for name, group in groups.items():
                nursery.start_soon(send_group, name, group)
        return result

    async def aclose(self) -> None:
        errors: list[BaseException] = []
        for provider in self._providers.values():
            try:
                await provider.aclose()
            except Exception as exc:  # close the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]
