"""Address exemptions: an editor lifts the new-account limit (``RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR``)
for an address range for a while (a newsroom, a classroom, an event behind one address), with a
reason; or ends one early. Each is recorded (``moderation.models.AddressExemption``: who, why,
until when) and shown on ``/staff/suspicious/``, where bursts from inside it still show.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from moderation.actions.quarantine import clean_reason
from moderation.models import AddressExemption

# Longest exemption an editor can grant at once: a month (an event, a term); renew after.
MAX_HOURS = 24 * 31
# Widest range: an IPv4 /16 or an IPv6 /32; anything wider would exempt a whole provider.
WIDEST_PREFIX = {4: 16, 6: 32}


class ExemptionError(ValueError):
    """Bad input for an exemption: the message is safe to show to the editor."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address or a CIDR range, not wider than ``WIDEST_PREFIX``; ExemptionError otherwise."""
    value = (text or "").strip()
    if not value or len(value) > 64 or "\x00" in value:
        raise ExemptionError("Give an address or a range such as 203.0.113.0/24.", code="bad_network")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ExemptionError(f"“{value[:64]}” is not an address or a range.", code="bad_network") from None
    if network.prefixlen < WIDEST_PREFIX[network.version]:
        widest = WIDEST_PREFIX[network.version]
        raise ExemptionError(
            f"That range is too wide: at most a /{widest} for IPv{network.version}.", code="too_wide"
        )
    return network


def create_address_exemption(
    *, network: str, hours: int, reason: str, by: AbstractBaseUser | None
) -> AddressExemption:
    """Exempt ``network`` from the new-account limit for ``hours`` hours from now."""
    parsed = parse_network(network)
    if not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise ExemptionError(f"Give a duration of 1 to {MAX_HOURS} hours.", code="bad_hours")
    text = clean_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        return AddressExemption.objects.create(
            network=str(parsed),
            reason=text,
            created_by=by,
            created_at=now,
            until=now + timedelta(hours=hours),
        )


def end_address_exemption(*, exemption_id: int, by: AbstractBaseUser | None) -> AddressExemption:
    """End a live exemption now (the limit applies again to new accounts from the range)."""
    with transaction.atomic():
        exemption = AddressExemption.objects.select_for_update().filter(pk=exemption_id).first()
        if exemption is None:
            raise ExemptionError("No such exemption.", code="no_such_exemption")
        now = timezone.now()
        if exemption.ended_at is not None or exemption.until <= now:
            raise ExemptionError("That exemption has already ended.", code="already_ended")
        exemption.ended_at, exemption.ended_by = now, by
        exemption.save(update_fields=["ended_at", "ended_by"])
        return exemption
