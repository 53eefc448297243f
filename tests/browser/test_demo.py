"""Two /demo pages chat with each other over the real gateway: one-to-one (with the unread count on the
receiver's conversation list) and in a group one of them creates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.pages import click, demo_login, text_of, type_into, wait_for

pytestmark = pytest.mark.browser


def conversation(user_a: str, user_b: str) -> str:
    return "si_" + "_".join(sorted((user_a, user_b)))


def bubbles(driver: Any) -> list[str]:
    return [str(e.text) for e in driver.find_elements("css selector", "#messages .msg .bubble")]


def send(driver: Any, text: str) -> None:
    type_into(driver, "#message-input", text)
    click(driver, "#send-button")
    wait_for(driver, lambda d: text in bubbles(d), f"{text!r} in the sender's own view")


def test_two_demo_pages_chat_one_to_one_and_in_a_group(
    server: Server, browser: Callable[[str], Any], artifacts: Path
) -> None:
    alice, bob = browser("alice"), browser("bob")
    demo_login(alice, server.api_url, server.secret, "demo_alice", "Alice")  # registered by the demo itself
    demo_login(bob, server.api_url, server.secret, "demo_bob", "Bob")
    direct = f'#conversations .conv[data-conversation-id="{conversation("demo_alice", "demo_bob")}"]'

    # Alice starts a chat with Bob and writes twice.
    type_into(alice, "#new-chat-id", "demo_bob")
    click(alice, "#new-chat-button")
    wait_for(alice, lambda d: "Bob" in text_of(d, "#room-title"), "the chat with Bob opened")
    send(alice, "Hello Bob, this is Alice.")
    send(alice, "Is the deployment working?")

    # Bob's list shows the new conversation with 2 unread, before he opens it.
    wait_for(bob, lambda d: d.find_elements("css selector", f"{direct} .unread"), "the unread badge on Bob's list")
    wait_for(bob, lambda d: text_of(d, f"{direct} .unread") == "2", "2 unread for Bob")
    wait_for(bob, lambda d: "Is the deployment working?" in text_of(d, f"{direct} .last"), "the newest message")
    bob.save_screenshot(str(artifacts / "demo-bob-unread.png"))

    click(bob, f"{direct}")
    wait_for(bob, lambda d: bubbles(d) == ["Hello Bob, this is Alice.", "Is the deployment working?"], "the history")
    wait_for(bob, lambda d: not d.find_elements("css selector", f"{direct} .unread"), "the badge cleared on reading")
    send(bob, "Hi Alice, loud and clear.")
    wait_for(alice, lambda d: "Hi Alice, loud and clear." in bubbles(d), "Bob's reply on Alice's page")

    # A group: Alice creates it with Bob and writes; Bob's page gets the group and the message.
    type_into(alice, "#new-group-name", "Acceptance")
    type_into(alice, "#new-group-members", "demo_bob")
    click(alice, "#new-group-button")
    wait_for(alice, lambda d: "# Acceptance" in text_of(d, "#room-title"), "the new group opened")
    send(alice, "Hello group!")
    group = '#conversations .conv[data-conversation-id^="sg_"]'
    wait_for(bob, lambda d: d.find_elements("css selector", group), "the group on Bob's list")
    wait_for(bob, lambda d: "Acceptance" in text_of(d, group), "the group's name on Bob's list")
    click(bob, group)
    wait_for(bob, lambda d: "Hello group!" in bubbles(d), "the group message on Bob's page")
    send(bob, "Hello from Bob in the group.")
    wait_for(alice, lambda d: "Hello from Bob in the group." in bubbles(d), "Bob's group reply on Alice's page")

    alice.save_screenshot(str(artifacts / "demo-alice-group.png"))
    # Back to the one-to-one chat for the picture of a conversation.
    click(alice, direct)
    wait_for(alice, lambda d: "Hi Alice, loud and clear." in bubbles(d), "the one-to-one history on Alice's page")
    alice.save_screenshot(str(artifacts / "demo-alice.png"))
