"""Takedown tests run with the page cache on, as in production (see tests/pagecache/conftest.py):
a surface that kept serving a cached copy of a withdrawn page would fail them. ``release`` is a
small release with reviews, a discovery, built Redis copies and real image files."""

from __future__ import annotations

import pytest

from denorm import operations, registry
from pagecache import generations, stats
from reviews.actions import create_discovery, submit_review
from tests import factories


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_SOFT_SECONDS = 0
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    generations.forget_local()
    stats.reset_pending()
    yield
    generations.forget_local()
    stats.reset_pending()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def write_media(pages, root) -> None:
    for page in pages:
        for name in (page.image.name, page.thumbnail.name):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x89PNG image of " + name.encode())


@pytest.fixture
def release(tags, reviewer, reviewer2, media_root):
    """Party "Greens" > member Ann > document "Claims of Ann" (3 pages) and another document
    of hers (2 pages), in the featured assignment (threshold 1); pages 1 and 2 reviewed and
    tagged, page 1 a discovery; every copy built; image files on disk."""
    party = factories.make_party("Greens")
    member = factories.make_member(party=party, name="Ann Example")
    doc = factories.make_document(member=member, pages=3, title="Claims of Ann")
    other = factories.make_document(member=member, pages=2, title="Receipts of Ann")
    assignment = factories.make_assignment(parties=[party], featured="main", slug="expenses")
    pages = list(doc.pages.order_by("number"))
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt", "investigate-this"])
    submit_review(reviewer=reviewer2, page_id=pages[0].pk, tag_slugs=["receipt"])
    submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=["receipt"])
    other_pages = list(other.pages.order_by("number"))
    submit_review(reviewer=reviewer, page_id=other_pages[0].pk, tag_slugs=["receipt"])
    discovery = create_discovery(page_id=pages[0].pk, title="A duck house on expenses")
    operations.rebuild_entries(registry.all_entries())
    write_media([*pages, *other_pages], media_root)
    return {
        "party": party,
        "member": member,
        "doc": doc,
        "other": other,
        "assignment": assignment,
        "pages": pages,
        "other_pages": other_pages,
        "discovery": discovery,
    }
