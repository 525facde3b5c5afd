"""Fixtures for the results tests: a small release (two parties, three members, documents) and
helpers that record reviews through the real action (so PageTag and counters are the real ones)."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _no_settle_delay(settings):
    """Most tests read right after writing; the settle delay has its own test."""
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0


@pytest.fixture
def release(db):
    """Two parties, three members, one document each (4 pages) and one member-less document."""
    red, blue = factories.make_party("Red"), factories.make_party("Blue")
    ann = factories.make_member(red, name="Ann Red")
    bob = factories.make_member(red, name="Bob Red")
    cat = factories.make_member(blue, name="Cat Blue")
    docs = {
        "ann": factories.make_document(ann, pages=4, title="Ann's claims"),
        "bob": factories.make_document(bob, pages=4, title="Bob's claims"),
        "cat": factories.make_document(cat, pages=4, title="Cat's claims"),
        "orphan": factories.make_document(None, pages=4, title="Orphan papers"),
    }
    return {
        "parties": {"red": red, "blue": blue},
        "members": {"ann": ann, "bob": bob, "cat": cat},
        "docs": docs,
    }
