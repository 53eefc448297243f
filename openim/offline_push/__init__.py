"""Offline push: device tokens (:mod:`.devices`), the provider interface (:mod:`.provider`) with FCM
HTTP v1, APNs over HTTP/2 and a generic HTTP provider, several of them at once chosen per device
platform (:mod:`.routing`), and the sender the push stage feeds (:mod:`.sender`)."""

from __future__ import annotations

from openim.config import OfflinePushConfig
from openim.offline_push.provider import ProviderMisconfigured, PushProvider

__all__ = ["ProviderMisconfigured", "PushProvider", "make_provider"]


def make_provider(cfg: OfflinePushConfig) -> PushProvider | None:
    """The configured provider, its credentials read and checked now (ProviderMisconfigured otherwise);
    None when offline push is off. With ``providers``, one provider per platform behind a PlatformRouter."""
    if cfg.providers:
        from openim.offline_push.routing import PlatformRouter

        return PlatformRouter({name: _one_provider(cfg, name) for name in cfg.providers}, cfg.platform_routes())
    if cfg.provider == "none":
        return None
    return _one_provider(cfg, cfg.provider)


def _one_provider(cfg: OfflinePushConfig, name: str) -> PushProvider:
    if name == "fcm":
        from openim.offline_push.fcm import FcmProvider, load_credentials

        return FcmProvider(
            load_credentials(cfg.fcm_credentials_file),
            endpoint=cfg.fcm_endpoint,
            concurrency=cfg.concurrency,
            timeout=cfg.timeout,
        )
    if name == "apns":
        from openim.offline_push.apns import PRODUCTION, SANDBOX, ApnsProvider, load_key

        endpoint = cfg.apns_endpoint or (SANDBOX if cfg.apns_sandbox else PRODUCTION)
        return ApnsProvider(
            key_pem=load_key(cfg.apns_key_file),
            key_id=cfg.apns_key_id,
            team_id=cfg.apns_team_id,
            topic=cfg.apns_topic,
            endpoint=endpoint,
            concurrency=cfg.concurrency,
            timeout=cfg.timeout,
        )
    if name == "http":
        from openim.offline_push.http_provider import HttpProvider

        return HttpProvider(cfg.http_url, headers=cfg.http_headers, timeout=cfg.timeout)
    raise ProviderMisconfigured(f"unknown offline push provider {name!r}")
