"""Fixtures of the browser tests: Debian's chromium driven by Playwright, over plain http to the live server."""

from __future__ import annotations

import pytest

from tests.ui.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def browser(monkeypatch):
    """Debian's chromium, headless; Playwright's own browser downloads are never used."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM reads are still plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def plain_http_cookies(settings):
    """The live server speaks plain http on localhost, as `make run` does (SECURE_COOKIES=false there)."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
