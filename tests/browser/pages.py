"""Small Selenium helpers shared by the browser tests: wait for a condition, type, click, read text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selenium.webdriver.support.ui import WebDriverWait

DEFAULT_WAIT_S = 20.0  # generous: CI runs other suites on the same 2 cores


def wait_for(driver: Any, condition: Callable[[Any], bool], what: str, timeout: float = DEFAULT_WAIT_S) -> None:
    """Poll ``condition(driver)`` until true; fail naming ``what`` (and the page's text) otherwise."""
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(Exception,)).until(condition)
    except Exception as exc:
        body = driver.find_element("css selector", "body").text[:1500]
        raise AssertionError(f"timed out waiting for {what}; the page shows:\n{body}") from exc


def text_of(driver: Any, selector: str) -> str:
    return str(driver.find_element("css selector", selector).text)


def type_into(driver: Any, selector: str, text: str) -> None:
    field = driver.find_element("css selector", selector)
    field.clear()
    field.send_keys(text)


def click(driver: Any, selector: str) -> None:
    """Click, retrying while the page re-renders the element under us (a stale reference)."""

    def attempt(d: Any) -> bool:
        d.find_element("css selector", selector).click()
        return True

    wait_for(driver, attempt, f"a click on {selector}")


def demo_login(driver: Any, base_url: str, secret: str, user_id: str, nickname: str) -> None:
    """Log in on /demo as ``user_id`` (registered on the way if new) and wait until the gateway is online."""
    driver.get(base_url + "/demo")
    wait_for(driver, lambda d: d.find_element("css selector", "#login-gateway").get_attribute("value"),
             "the gateway address from /demo/config.json")
    type_into(driver, "#login-user", user_id)
    type_into(driver, "#login-nickname", nickname)
    type_into(driver, "#login-secret", secret)
    click(driver, "#login-button")
    wait_for(driver, lambda d: text_of(d, "#connection") == "online", f"{user_id} online on the gateway")
