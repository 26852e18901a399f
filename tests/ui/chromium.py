"""Debian's chromium for the browser tests, and what it reports about the Content-Security-Policy."""

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
