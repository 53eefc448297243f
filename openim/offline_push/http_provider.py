"""A generic HTTP provider: one JSON POST per batch to the operator's own push gateway (Getui, JPush,
an in-house relay...), which does the last mile. 2xx is success; the answer may list dead tokens as
``{"deadTokens": [...]}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from openim.offline_push.provider import Notification, ProviderMisconfigured, PushResult


class HttpProvider:
    name = "http"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._headers = dict(headers or {})
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def check(self) -> None:
        if not self._url.startswith(("http://", "https://")):
            raise ProviderMisconfigured(f"offline_push.http_url must be an http(s) URL, got {self._url!r}")

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        body = {
            "notifications": [
                {
                    "userID": n.user_id,
                    "platformID": n.platform_id,
                    "token": n.token,
                    "title": n.title,
                    "desc": n.body,
                    "badge": n.badge,
                    "data": dict(n.data),
                }
                for n in batch
            ]
        }
        try:
            resp = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError:
            return PushResult(failed=len(batch))
        if not 200 <= resp.status_code < 300:
            return PushResult(failed=len(batch))
        dead: list[str] = []
        try:
            answer = resp.json()
            if isinstance(answer, dict) and isinstance(answer.get("deadTokens"), list):
                dead = [str(t) for t in answer["deadTokens"]]
        except ValueError:
            pass
        return PushResult(sent=len(batch) - len(dead), dead_tokens=dead)

    async def aclose(self) -> None:
        await self._client.aclose()
