"""The sign-in limit of the login form and of `POST /api/v1/auth/token/`: failed attempts counted per client
address and per username in the "signin" cache, shared by every web process (Redis with CACHE_URL, else the
database: portal/settings.py), at the DRF "login" rate (LAUNCHPAD_LOGIN_RATE, 10/min)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time

from django.contrib.auth import authenticate
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings

from portal.client_address import client_address

SCOPE = "login"
CACHE = "signin"  # the alias in settings.CACHES
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

logger = logging.getLogger(__name__)


def now() -> float:
    """The clock of the windows (tests move it instead of sleeping)."""
    return time.time()


def login_rate() -> tuple[int, int]:
    """The failed attempts allowed per window, and the window in seconds, from the DRF "login" rate."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE) or ""
    number, _, period = rate.partition("/")
    if not number.isdigit() or int(number) < 1 or period[:1] not in PERIODS:
        raise ImproperlyConfigured(f"The login rate {rate!r} must look like 10/min (a number per s, min, hour or day).")
    return int(number), PERIODS[period[0]]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottled(Throttled):
    default_detail = "Too many failed sign-in attempts from this address or for this username."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


class SignInAttempt:
    """One sign-in: it takes a slot of the address's and of the username's allowance *before* the password is
    checked, so parallel guesses cannot slip past the count, and gives it back when the password was right:
    only failures count. While either allowance of the current window is used up, ``allowed`` is False and
    nothing is checked; ``retry_after`` is the seconds left in the window. The windows are fixed (aligned on
    the clock), so a username attacked from many addresses is locked for the rest of the window at most."""

    def __init__(self, address: str | None, username: str) -> None:
        self.limit, window = login_rate()
        started = now()
        index = int(started // window)
        self.retry_after = max(1, math.ceil((index + 1) * window - started))
        self._timeout = window * 2
        # The username as typed, case and spaces aside: "Alice " and "alice" share one allowance.
        self._address_key = f"login-failures:address:{_digest(address or '')}:{index}"
        self._username_key = f"login-failures:username:{_digest(username.strip().casefold())}:{index}"
        self._taken: list[str] = []
        self.allowed = self._take(self._address_key) and self._take(self._username_key)
        if not self.allowed:
            self._give_back()
            # The address only: a username field sometimes holds a password typed in the wrong box.
            logger.warning("Sign-in refused for %s s: too many failed attempts (client %s).", self.retry_after, address)

    def _take(self, key: str) -> bool:
        # add + incr, never get + set: two processes counting at once cannot both read 9 and both let a guess in.
        cache = caches[CACHE]
        cache.add(key, 0, timeout=self._timeout)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=self._timeout)
            count = 1
        self._taken.append(key)
        return count <= self.limit

    def _give_back(self) -> None:
        for key in self._taken:
            with contextlib.suppress(ValueError):  # expired or evicted: nothing left to give back
                caches[CACHE].decr(key)
        self._taken = []

    def succeeded(self) -> None:
        """The password was right: this attempt does not count against the address or the username."""
        self._give_back()

    def refusal(self) -> LoginThrottled:
        """The API's answer to a refused attempt: a 429 with Retry-After."""
        return LoginThrottled(wait=self.retry_after)


def password_confirmed(request, password: str) -> bool:
    """Whether ``password`` is the signed-in user's (asked again before a token is made), counted like a sign-in:
    a wrong one is a failed attempt of the client's address and of the username, so a stolen session cannot
    guess the password faster than the login form. Raises LoginThrottled while either allowance is used up."""
    username = request.user.get_username()
    attempt = SignInAttempt(client_address(request), username)
    if not attempt.allowed:
        raise attempt.refusal()
    user = authenticate(request, username=username, password=password)
    if user is None or user.pk != request.user.pk:
        return False
    attempt.succeeded()
    return True
