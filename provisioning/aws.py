"""The one boto3 factory: every AWS client Launchpad makes comes from here.

The endpoint is ``AWS_ENDPOINT_URL`` (the local emulator) when set, otherwise real AWS; credentials
and region come from the usual boto3 chain, so nothing here is specific to the emulator.
"""

from __future__ import annotations

import os
from functools import lru_cache

import boto3
from botocore.client import BaseClient
from botocore.config import Config

DEFAULT_REGION = "eu-west-1"
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


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
    return _session(region).client(service, endpoint_url=endpoint or endpoint_url(), config=_CLIENT_CONFIG)
