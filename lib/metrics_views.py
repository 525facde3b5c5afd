"""``/metrics``: the exposition of ``lib.metrics``, for the monitoring network only.

Served to addresses in ``METRICS_ALLOWED_NETWORKS`` (loopback by default), the client address
read as ``lib.ratelimit.client_address`` reads it (``TRUSTED_PROXIES`` honoured: behind a trusted
proxy the visitor's address decides, and nobody else's ``X-Forwarded-For`` is believed), or to a
request carrying ``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time). Anyone
else gets 403. Never cached, never given a session.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from lib.metrics import render
from lib.ratelimit import client_address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def metrics_view(request):
    if not allowed(request):
        response = HttpResponse("Forbidden: /metrics is for the monitoring network.\n", status=403,
                                content_type="text/plain")  # fmt: skip
        response["Cache-Control"] = "no-store"
        return response
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
