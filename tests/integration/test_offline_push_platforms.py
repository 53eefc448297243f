"""FCM and APNs in one deployment (``offline_push.providers``), through a real server and stand-ins of
Google's and Apple's services: a user with an Android phone and an iPhone gets one push on each, the
Android one through FCM and the iOS one through APNs, never crossed; the tokens each provider reports
dead are forgotten, so the next message is not pushed to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("cryptography", reason="FCM and APNs sign their tokens (needs cryptography)")

from tests.integration.conftest import ServerProcess
from tests.integration.offline_push_calls import register_users, send_text
from tests.integration.push_standins import (
    APNS_KEY_ID,
    APNS_TEAM_ID,
    APNS_TOPIC,
    PushCredentials,
    PushServices,
    running_push_services,
)

IOS, ANDROID, WEB = 1, 2, 5


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PushServices, PushCredentials]]:
    with running_push_services(tmp_path_factory.mktemp("push")) as running:
        yield running


@pytest.fixture(scope="module")
def server_extra_config(services: tuple[PushServices, PushCredentials]) -> str:
    standins, creds = services
    return (
        "offline_push:\n"
        "  providers: [fcm, apns]\n"
        f"  fcm_credentials_file: {creds.fcm_credentials_file}\n"
        f"  fcm_endpoint: {standins.url}\n"
        f"  apns_key_file: {creds.apns_key_file}\n"
        f"  apns_key_id: {APNS_KEY_ID}\n"
        f"  apns_team_id: {APNS_TEAM_ID}\n"
        f"  apns_topic: {APNS_TOPIC}\n"
        f"  apns_endpoint: {standins.url}\n"
    )


@pytest.fixture(scope="module")
def users(server: ServerProcess) -> dict[str, str]:
    return register_users(server, "pp")


def register_device(server: ServerProcess, user_id: str, platform_id: int, device_token: str) -> None:
    server.call(
        "/third/fcm_update_token",
        {"platformID": platform_id, "fcmToken": device_token, "account": user_id},
        token=server.user_token(user_id, platform_id),
    )


def texts(standins: PushServices, service: str, device_token: str) -> list[str]:
    """The texts pushed to one device token through one service, in order."""
    with standins.lock:
        found = [d for d in standins.deliveries if d.service == service and d.token == device_token]
    if service == "fcm":
        return [str(d.body["notification"]["body"]) for d in found]
    return [str(d.body["aps"]["alert"]["body"]) for d in found]


def test_android_goes_through_fcm_and_ios_through_apns(
    server: ServerProcess, services: tuple[PushServices, PushCredentials], users: dict[str, str]
) -> None:
    standins, _ = services
    bob = users["bob"]
    register_device(server, bob, ANDROID, "bob-android")
    register_device(server, bob, IOS, "bob-iphone")
    send_text(server, users["alice"], bob, "to both of bob's phones")

    standins.wait_for(lambda s: "bob-android" in s.to("fcm") and "bob-iphone" in s.to("apns"))
    assert texts(standins, "fcm", "bob-android") == ["to both of bob's phones"]
    assert texts(standins, "apns", "bob-iphone") == ["to both of bob's phones"]
    assert "bob-iphone" not in standins.to("fcm") and "bob-android" not in standins.to("apns")
    with standins.lock:
        assert standins.refused == []  # every request was authorised (grant, bearer, provider token, topic)


def test_dead_tokens_are_forgotten_per_provider(
    server: ServerProcess, services: tuple[PushServices, PushCredentials], users: dict[str, str]
) -> None:
    standins, _ = services
    carol, bob = users["carol"], users["bob"]
    register_device(server, carol, ANDROID, "dead-android")
    register_device(server, carol, IOS, "dead-iphone")
    send_text(server, users["alice"], carol, "to carol's old phones")
    standins.wait_for(lambda s: "dead-android" in s.to("fcm") and "dead-iphone" in s.to("apns"))

    # Pushes go out in order: once the marker to bob arrived, a second push to carol's tokens would have
    # gone out before it.
    send_text(server, users["alice"], carol, "again to carol")
    send_text(server, users["alice"], bob, "marker")
    standins.wait_for(
        lambda s: "marker" in texts(s, "fcm", "bob-android") and "marker" in texts(s, "apns", "bob-iphone")
    )
    assert texts(standins, "fcm", "dead-android") == ["to carol's old phones"]
    assert texts(standins, "apns", "dead-iphone") == ["to carol's old phones"]
