"""The one boto3 factory: every AWS client Launchpad makes comes from here.

The endpoint is ``AWS_ENDPOINT_URL`` (the local emulator) when set, otherwise real AWS; credentials
and region come from the usual boto3 chain, so nothing here is specific to the emulator. A failing call is
retried at most ``LAUNCHPAD_AWS_MAX_RETRIES`` times (the bound Terraform's provider gets too), and never more
than 5: dashboards and the audit answer quickly, with the error, when AWS is unreachable.
"""

from __future__ import annotations

import os
from functools import lru_cache

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError

DEFAULT_REGION = "eu-west-1"
DEFAULT_MAX_RETRIES = 25
BOTO3_MAX_RETRIES = 5
# What botocore raises when no answer came back at all (refused, reset, timed out): AWS is unreachable.
CONNECTION_ERRORS = (BotocoreConnectionError, HTTPClientError)


def max_retries() -> int:
    """``LAUNCHPAD_AWS_MAX_RETRIES``: how often a failing AWS call is retried (0-100, default 25)."""
    value = os.environ.get("LAUNCHPAD_AWS_MAX_RETRIES") or str(DEFAULT_MAX_RETRIES)
    if not (value.isascii() and value.isdigit()) or int(value) > 100:
        raise ValueError(f"LAUNCHPAD_AWS_MAX_RETRIES={value!r} must be a whole number from 0 to 100.")
    return int(value)


@lru_cache(maxsize=8)
def _config(retries: int) -> Config:
    # "max_attempts" of the retries dict counts the retries, not the first attempt.
    return Config(retries={"max_attempts": retries, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def endpoint_url() -> str | None:
    """The configured AWS endpoint (``AWS_ENDPOINT_URL``), or None for real AWS."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def default_region() -> str:
    """The region used when a caller names none."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@lru_cache(maxsize=64)
def _session(region: str) -> boto3.session.Session:
    return boto3.session.Session(region_name=region)


def client(service: str, region: str | None = None, endpoint: str | None = None) -> BaseClient:
    """A boto3 client for ``service`` in ``region``, against ``endpoint`` or the configured one."""
    region = region or default_region()
    config = _config(min(BOTO3_MAX_RETRIES, max_retries()))
    return _session(region).client(service, endpoint_url=endpoint or endpoint_url(), config=config)
