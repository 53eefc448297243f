"""Several providers at once: the provider each device platform gets (defaults, overrides, none), the
config's refusals, and the router sending each notification to its platform's provider, keeping the
others going when one fails and passing every provider's dead tokens on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from openim.config import OfflinePushConfig
from openim.offline_push import make_provider
from openim.offline_push.http_provider import HttpProvider
from openim.offline_push.provider import Notification, PushResult
from openim.offline_push.routing import PlatformRouter
from openim.wire.constants import Platform

IOS, ANDROID, WEB, IPAD, APAD, HARMONY = (
    int(Platform.IOS),
    int(Platform.ANDROID),
    int(Platform.WEB),
    int(Platform.IPAD),
    int(Platform.APAD),
    int(Platform.HARMONY_OS),
)
HTTP = {"http_url": "http://push.internal/openim"}
APNS = {"apns_key_file": "/k.p8", "apns_key_id": "K", "apns_team_id": "T", "apns_topic": "com.example.chat"}
FCM = {"fcm_credentials_file": "/sa.json"}


def cfg(**values: Any) -> OfflinePushConfig:
    return OfflinePushConfig.model_validate(values)


# -- the choice per platform ----------------------------------------------------------------------------


def test_ios_goes_to_apns_and_android_to_fcm_by_default() -> None:
    both = cfg(providers=["fcm", "apns"], **FCM, **APNS)
    assert both.platform_routes() == {IOS: "apns", ANDROID: "fcm", APAD: "fcm", IPAD: "apns"}
    assert both.provider_names == ("fcm", "apns")


def test_the_mapping_overrides_the_defaults_by_name_or_number_and_none_turns_a_platform_off() -> None:
    chosen = cfg(
        providers=["apns", "http"],
        platform_providers={"android": "http", "11": "http", "IPad": "none", "WEB": "http"},
        **APNS,
        **HTTP,
    )
    assert chosen.platform_routes() == {IOS: "apns", ANDROID: "http", WEB: "http", HARMONY: "http"}


def test_a_single_provider_keeps_serving_every_platform() -> None:
    single = cfg(provider="http", **HTTP)
    assert single.provider_names == ("http",)
    assert single.platform_routes() == {}
    assert isinstance(make_provider(single), HttpProvider)
    assert cfg().provider_names == () and make_provider(cfg()) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"provider": "fcm", "providers": ["apns"], **FCM, **APNS}, "set provider (fcm: one provider for every"),
        ({"providers": ["apns", "apns"], **APNS}, "providers lists a provider twice"),
        ({"providers": ["fcm", "apns"], **FCM}, "provider apns needs apns_key_file, apns_key_id"),
        ({"providers": ["fcm", "http"], **FCM, **HTTP}, "providers lists http but no platform goes to it"),
        ({"providers": ["fcm"], "platform_providers": {"ios": "apns"}, **FCM}, "ios goes to 'apns', which is not"),
        ({"providers": ["fcm"], "platform_providers": {"pager": "fcm"}, **FCM}, "unknown platform 'pager'"),
        ({"provider": "http", "platform_providers": {"ios": "http"}, **HTTP}, "platform_providers needs providers"),
        ({"providers": ["mqtt"]}, "providers.0"),
    ],
)
def test_what_the_config_refuses(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        cfg(**values)
    assert message in str(err.value), str(err.value)


def test_make_provider_builds_a_router_over_each_configured_provider() -> None:
    router = make_provider(cfg(providers=["http"], platform_providers={"android": "http"}, **HTTP))
    assert isinstance(router, PlatformRouter) and router.name == "http"
    assert (router.provider_for(ANDROID), router.provider_for(IOS)) == ("http", None)


# -- the router -------------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.batches: list[list[Notification]] = []
        self.checked = self.closed = False

    async def check(self) -> None:
        self.checked = True

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        self.batches.append(list(batch))
        if self.fail:
            raise RuntimeError(f"{self.name} is down")
        dead = [n.token for n in batch if n.token.startswith("dead")]
        return PushResult(sent=len(batch) - len(dead), dead_tokens=dead)

    async def aclose(self) -> None:
        self.closed = True


def note(platform_id: int, token: str) -> Notification:
    return Notification("bob", platform_id, token, "Alice", "hi")


def tokens(provider: Recorder) -> list[str]:
    return [n.token for batch in provider.batches for n in batch]


@pytest.mark.trio
async def test_each_device_goes_to_the_provider_of_its_platform() -> None:
    fcm, apns = Recorder("fcm"), Recorder("apns")
    router = PlatformRouter({"fcm": fcm, "apns": apns}, {IOS: "apns", IPAD: "apns", ANDROID: "fcm"})
    await router.check()
    assert fcm.checked and apns.checked and router.name == "fcm+apns"
    batch = [note(IOS, "phone"), note(ANDROID, "android"), note(IPAD, "dead-ipad"), note(WEB, "browser")]
    result = await router.send(batch)
    assert tokens(apns) == ["phone", "dead-ipad"] and tokens(fcm) == ["android"]
    assert (result.sent, result.failed, result.skipped, result.dead_tokens) == (2, 0, 1, ["dead-ipad"])
    await router.aclose()
    assert fcm.closed and apns.closed


@pytest.mark.trio
async def test_a_failing_provider_fails_only_its_own_devices() -> None:
    fcm, apns = Recorder("fcm", fail=True), Recorder("apns")
    router = PlatformRouter({"fcm": fcm, "apns": apns}, {IOS: "apns", ANDROID: "fcm"})
    result = await router.send([note(ANDROID, "a1"), note(ANDROID, "a2"), note(IOS, "dead-phone")])
    assert (result.sent, result.failed, result.dead_tokens) == (0, 2, ["dead-phone"])


def test_routes_must_name_given_providers() -> None:
    with pytest.raises(ValueError, match="apns"):
        PlatformRouter({"fcm": Recorder("fcm")}, {IOS: "apns"})
