"""Writes about the reference data editors keep: parties, members and tags.

The admin edits these simple models with Django's own ``ModelAdmin`` saves (no rule or copy
depends on them beyond what the model signals already cover); code that creates them (the demo
release) goes through these idempotent ``ensure_*`` actions.
"""

from __future__ import annotations

from django.db import transaction

from catalogue.models import Member, Party, Tag


@transaction.atomic
def ensure_party(*, slug: str, name: str) -> Party:
    """The party with this slug, created with ``name`` when missing (an existing one is kept)."""
    party, _ = Party.objects.get_or_create(slug=slug, defaults={"name": name})
    return party


@transaction.atomic
def ensure_member(*, slug: str, name: str, party: Party | None = None, constituency: str = "") -> Member:
    """The member with this slug, created when missing (an existing one is kept)."""
    member, _ = Member.objects.get_or_create(
        slug=slug, defaults={"name": name, "party": party, "constituency": constituency}
    )
    return member


@transaction.atomic
def ensure_tag(
    *,
    slug: str,
    name: str,
    key: str = "",
    order: int = 0,
    highlights: bool = False,
    description: str = "",
) -> Tag:
    """The tag with this slug, created when missing (an existing one, maybe edited, is kept)."""
    tag, _ = Tag.objects.get_or_create(
        slug=slug,
        defaults={
            "name": name,
            "key": key,
            "order": order,
            "highlights": highlights,
            "description": description,
        },
    )
    return tag
