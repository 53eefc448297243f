"""The operators' console in a real browser: sign in with the secret, see the dashboard's figures and
charts, find users, block one (and see that they can no longer get a token), look at nodes and config."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server
from tests.browser.pages import click, demo_login, text_of, type_into, wait_for

pytestmark = pytest.mark.browser


def user_token_answer(server: Server, user_id: str) -> dict[str, Any]:
    headers = {"operationID": "browser-check", "token": server.admin_token()}
    body = {"userID": user_id, "platformID": 5}
    result: dict[str, Any] = httpx.post(server.api_url + "/auth/get_user_token", json=body, headers=headers).json()
    return result


def test_admin_signs_in_sees_dashboard_and_users(
    server: Server, browser: Callable[[str], Any], artifacts: Path
) -> None:
    server.register(("console_alice", "Alice Console"), ("console_bob", "Bob Console"))
    # Something for the dashboard to show: Alice online in the demo, and Bob writing to her meanwhile.
    demo_login(browser("alice"), server.api_url, server.secret, "console_alice", "Alice Console")
    admin = server.admin_token()
    stop = threading.Event()

    def chatter() -> None:
        for n in range(200):
            if stop.wait(0.25):
                return
            server.send_text("console_bob", "console_alice", f"message {n}", admin)

    traffic = threading.Thread(target=chatter, daemon=True)
    traffic.start()
    page = browser("admin")
    page.get(server.api_url + "/admin")

    # A wrong secret is refused on the page.
    type_into(page, "#secret", "not-the-secret")
    click(page, "#login-button")
    wait_for(page, lambda d: "Wrong secret" in text_of(d, "#login-error"), "the refusal of a wrong secret")

    type_into(page, "#secret", server.secret)
    click(page, "#login-button")
    wait_for(page, lambda d: d.find_element("css selector", "#app").is_displayed(), "the console after sign-in")

    # The dashboard polls every 2 s: after a few polls every card has a number and a drawn line.
    wait_for(page, lambda d: text_of(d, '[data-figure="online"]') not in ("", "–"), "the online users figure")
    # Five polls (8 s) of traffic make lines worth a picture.
    wait_for(page, lambda d: int(d.find_element("css selector", "#view").get_attribute("data-samples")) >= 5,
             "five polls of the dashboard", timeout=20)
    wait_for(page, lambda d: len(d.find_elements("css selector", ".card svg path.line")) >= 5, "lines in all charts")
    wait_for(page, lambda d: text_of(d, '[data-figure="rate"]') not in ("–", "0.0"), "a message rate")
    stop.set()
    traffic.join()
    assert text_of(page, '[data-figure="online"]') == "1"
    assert text_of(page, '[data-figure="p99"]').endswith(" ms")
    assert "browser-node-1" in text_of(page, '[data-card="connections"] .legend') or "1 node" in text_of(
        page, '[data-card="connections"]'
    )
    page.save_screenshot(str(artifacts / "admin-dashboard.png"))

    page.get(server.api_url + "/admin/#users")
    wait_for(page, lambda d: len(d.find_elements("css selector", "#users-table tr[data-user-id]")) >= 2,
             "the user list")
    rows = page.find_elements("css selector", "#users-table tr[data-user-id]")
    listed = [r.get_attribute("data-user-id") for r in rows]
    assert {"console_alice", "console_bob"} <= set(listed)
    page.save_screenshot(str(artifacts / "admin-users.png"))

    # Search narrows the list; Block bans the user, which the token route then enforces.
    type_into(page, "#user-search", "console_bob")
    click(page, "#user-search-button")
    row = '#users-table tr[data-user-id="console_bob"]'
    wait_for(page, lambda d: len(d.find_elements("css selector", "#users-table tr[data-user-id]")) == 1, "the search")
    click(page, f"{row} button.danger")
    page.switch_to.alert.accept()
    wait_for(page, lambda d: "blocked" in text_of(d, row), "the blocked badge")
    refused = user_token_answer(server, "console_bob")
    assert refused["errCode"] == 1002 and "blocked" in refused["errDlt"]
    click(page, f"{row} button.secondary")  # Unblock
    wait_for(page, lambda d: "active" in text_of(d, row), "the active badge again")
    assert user_token_answer(server, "console_bob")["errCode"] == 0

    page.get(server.api_url + "/admin/#nodes")
    wait_for(page, lambda d: "browser-node-1" in text_of(d, "#nodes-table"), "this node in the node list")
    assert "up" in text_of(page, '#nodes-table tr[data-node-id="browser-node-1"]')

    page.get(server.api_url + "/admin/#config")
    wait_for(page, lambda d: '"secret": "****"' in text_of(d, "#config"), "the masked config")
    assert server.secret not in page.page_source
    assert not page.find_element("css selector", "#warnings").is_displayed()  # a secret of its own: no banner
    page.save_screenshot(str(artifacts / "admin-config.png"))


def test_a_banner_on_every_page_warns_of_the_example_secret(
    example_server: Server, browser: Callable[[str], Any], artifacts: Path
) -> None:
    page = browser("admin-example")
    page.get(example_server.api_url + "/admin")
    type_into(page, "#secret", example_server.secret)
    click(page, "#login-button")
    wait_for(page, lambda d: d.find_element("css selector", "#warnings").is_displayed(), "the warning banner")
    banner = text_of(page, "#warnings")
    assert "public example value" in banner and "openim init" in banner and "OPENIM_SECRET" in banner, banner
    page.save_screenshot(str(artifacts / "admin-example-secret.png"))
    page.get(example_server.api_url + "/admin/#users")  # another page: the banner stays
    wait_for(page, lambda d: d.find_elements("css selector", "#users-table tr"), "the user list")
    assert text_of(page, "#warnings") == banner
