"""A page's rotation: how the scan is turned for everyone (``Page.rotation``).

Reviewers turn a sideways scan on their own screen (the review screen's rotate control); an
editor's "keep for everyone" makes it the page's rotation, shown turned to every reviewer from
then on. Only the review screen reads it (never cached), and nothing copies it, so no
denormalisation follows from it.
"""

from __future__ import annotations

from django.db import transaction

from catalogue.models import Page


class RotationError(ValueError):
    pass


@transaction.atomic
def set_page_rotation(*, page_id: int, degrees: int) -> Page:
    """Turn the page ``degrees`` clockwise (0, 90, 180 or 270) for everyone."""
    if degrees not in Page.ROTATIONS:
        raise RotationError("A page turns by a quarter: 0, 90, 180 or 270 degrees.")
    page = Page.objects.select_for_update().filter(pk=page_id).first()
    if page is None:
        raise RotationError("That page does not exist.")
    if page.rotation != degrees:
        page.rotation = degrees
        page.save(update_fields=["rotation"])
    return page
