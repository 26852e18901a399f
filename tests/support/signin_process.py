"""One web process's sign-ins, for the tests of the sign-in limit across processes (tests/security/test_throttling.py).

Run as `python -m tests.support.signin_process` with DATABASE_URL naming the test database and SIGNIN_CLOCK the
time the limiter sees (so every process counts in one window). Each line read from stdin is a sign-in,
{"username", "password", "address"}, sent to `POST /api/v1/auth/token/` through Django's test client: this
process's own cache and the shared "signin" cache as gunicorn's workers have them. Each answer's status code is
written on its own line. "go" (a line by itself) is answered "ready" once Django is set up.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.test_settings")
    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from portal.accounts import throttling

    clock = float(os.environ["SIGNIN_CLOCK"])
    throttling.now = lambda: clock
    setup_test_environment()  # the test client's host, "testserver", is allowed
    for line in sys.stdin:
        if line.strip() == "go":
            print("ready", flush=True)
            continue
        attempt = json.loads(line)
        response = Client(REMOTE_ADDR=attempt["address"]).post(
            "/api/v1/auth/token/",
            {"username": attempt["username"], "password": attempt["password"]},
            content_type="application/json",
        )
        print(response.status_code, flush=True)


if __name__ == "__main__":
    main()
