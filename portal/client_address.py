"""The client's address as the activity log and the sign-in limit see it, behind LAUNCHPAD_NUM_PROXIES proxies."""

from __future__ import annotations

import ipaddress

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str | None:
    """REMOTE_ADDR, or with REST_FRAMEWORK["NUM_PROXIES"] = N the address the Nth proxy from us appended to
    X-Forwarded-For (DRF's throttle semantics): the entries a client writes itself in front are never believed.
    None without a request, or when that entry is not an address (a client that reached us past the proxy)."""
    if request is None:
        return None
    address = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
