"""Who may see a page: the one rule every public surface uses (HTML pages, the review screen,
the API, feeds, exports, search, images).

Today's rule: a page is public unless it (or its document) is withdrawn (``Page.withdrawn_at``,
kept by ``moderation.actions.takedown`` for the page and for every page of a withdrawn
document). Issue 22 extends it with the embargo: a document is public only once it is in a
published assignment or an editor published it on its own. Callers use only these functions,
so the rule changes here and nowhere else. Staff see everything.
"""

from __future__ import annotations

from django.db.models import Q


def public_page_q(prefix: str = "") -> Q:
    """A ``Q`` selecting the pages the public may see. ``prefix``: the path to the page from
    the queried model, with its trailing ``__`` (``"page__"`` on PageTag), or "" on Page."""
    return Q(**{f"{prefix}withdrawn_at__isnull": True})


def public_page_sql(alias: str = "p") -> str:
    """The same rule as an SQL predicate over the page table aliased ``alias`` (an identifier
    the caller chose, never user input)."""
    if not alias.isidentifier():
        raise ValueError(f"not an SQL alias: {alias!r}")
    return f"({alias}.withdrawn_at IS NULL)"


def page_is_public(page) -> bool:
    """A loaded ``Page`` (with its ``withdrawn_at``) may be shown to the public."""
    return page.withdrawn_at is None


def can_see_page(user, page) -> bool:
    """``user`` (anonymous or not) may see the loaded ``page``: staff always, others when public."""
    return bool(getattr(user, "is_staff", False) and getattr(user, "is_active", False)) or page_is_public(page)
