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
from django.http import HttpRequest, HttpResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from lib.metrics import render
from lib.ratelimit import client_address, from_trusted_proxy


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    # The visitor behind a trusted proxy (which client_address may widen to its IPv6 /64), else
    # the peer itself, exactly: loopback ::1 must stay ::1/128.
    who = client_address(request) if from_trusted_proxy(request) else request.META.get("REMOTE_ADDR", "")
    try:
        network = ipaddress.ip_network(who, strict=False)
    except ValueError:
        return False
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen == 128:
        network = ipaddress.ip_network(mapped)
    return any(
        network.version == allowed_net.version and network.subnet_of(allowed_net)  # type: ignore[arg-type]
        for allowed_net in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        response = HttpResponse("Forbidden: /metrics is for the monitoring network.\n", status=403,
                                content_type="text/plain")  # fmt: skip
        response["Cache-Control"] = "no-store"
        return response
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
