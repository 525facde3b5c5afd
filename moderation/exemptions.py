"""Reads of address exemptions (``moderation.models.AddressExemption``): which are live, and
whether an address is inside one. The new-account limit asks :func:`address_is_exempt` through
the hook ``reviews.ratelimit`` offers (registered in ``moderation.apps``): reviews sits below
moderation and never imports it."""

from __future__ import annotations

import ipaddress

from django.db.models import QuerySet
from django.utils import timezone

from moderation.models import AddressExemption


def live_exemptions(*, now=None) -> QuerySet[AddressExemption]:
    now = now or timezone.now()
    return AddressExemption.objects.filter(ended_at__isnull=True, until__gt=now).select_related("created_by")


def recent_exemptions(*, limit: int = 20) -> list[AddressExemption]:
    return list(AddressExemption.objects.select_related("created_by", "ended_by")[:limit])


def exemption_for(address: str) -> AddressExemption | None:
    """The live exemption whose range holds ``address`` (an address, or the /64 that
    ``lib.ratelimit.client_address`` gives for IPv6), or None. Live exemptions are few (editors
    grant them by hand): one indexed query, the match in Python."""
    try:
        visitor = ipaddress.ip_network((address or "").strip(), strict=False)
    except ValueError:
        return None
    for exemption in live_exemptions():
        network = ipaddress.ip_network(exemption.network, strict=False)
        if network.version == visitor.version and visitor.subnet_of(network):
            return exemption
    return None


def address_is_exempt(address: str) -> bool:
    return exemption_for(address) is not None
