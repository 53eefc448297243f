"""The app's OpenIM REST routes, read from the same registration the server runs, so suites that must
cover every route (the authorization matrix, the read-authorization probes) fail when one is added."""

from __future__ import annotations

from openim.api import routes
from openim.api.framework import Router


class _Anything:
    """Stands in for the node and services: registering routes only stores their handlers."""

    def __getattr__(self, name: str) -> _Anything:
        return _Anything()

    def __call__(self, *args: object, **kwargs: object) -> _Anything:
        return _Anything()


def route_table() -> dict[str, str]:
    """Every OpenIM REST route of the app -> its auth level ("none", "user", "admin")."""
    router = Router(_Anything(), _Anything(), 1 << 20)  # type: ignore[arg-type]
    routes.register_all(router, _Anything(), _Anything())  # type: ignore[arg-type]
    return {path: spec.auth.value for path, spec in router._specs.items()}
