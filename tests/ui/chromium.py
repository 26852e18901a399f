"""Debian's chromium for the browser tests, what it reports about the Content-Security-Policy, and signing in."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = "Debian's chromium is missing at /usr/bin/chromium (apt-get install -y chromium; .ci/services.sh does it)"


def policy_violations(page, into: list[str] | None = None) -> list[str]:
    """A list (``into``, or a new one) that fills with every Content-Security-Policy violation ``page`` reports
    from now on (chromium writes each one to the console as an error), with the address it happened on."""
    violations = [] if into is None else into

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return violations


def sign_in(page, base_url: str, username: str, password: str = "pw-123456789"):
    """``page`` signed in as ``username`` through the sign-in form (tests.factories.make_user's password), on the
    environment list; returned for chaining."""
    page.set_default_timeout(30_000)
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page
