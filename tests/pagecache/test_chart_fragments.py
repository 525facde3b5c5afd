"""An assignment's charts are cached as a part of its page (pagecache.fragments): drawn once,
served from the page cache after that, and drawn afresh after a review (the ``counts``
generation) or a change of the assignment (``assignments``), like a cached page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments import actions
from tests import factories
from tests.contributors._support import build, review

pytestmark = pytest.mark.django_db


def _chart_queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).content.decode()
    reviews = [
        q for q in ctx.captured_queries if "reviews_review" in q["sql"] and "GROUP BY" in q["sql"].upper()
    ]
    windows = [q for q in ctx.captured_queries if "ROW_NUMBER" in q["sql"].upper()]
    return len(reviews) + len(windows), re.search(r'data-values="([^"]*)"', body).group(1)


def test_the_charts_are_drawn_once_then_served_until_a_review(client, tags, reviewer, reviewer2):
    doc = factories.make_document(pages=3)
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    build([])
    pages = list(doc.pages.order_by("number"))
    review(reviewer, pages[0], assignment=assignment)
    url = assignment.get_absolute_url()
    drawn, values = _chart_queries(client, url)
    assert drawn == 2 and values.endswith("1")
    assert _chart_queries(client, url) == (0, values)  # from the page cache
    review(reviewer2, pages[1], assignment=assignment)  # bumps counts after commit
    drawn, values = _chart_queries(client, url)
    assert drawn == 2 and values.endswith("2")
    assert _chart_queries(client, url)[0] == 0


def test_a_change_of_the_assignment_draws_them_afresh(client, tags, reviewer):
    doc = factories.make_document(pages=3)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    build([])
    url = assignment.get_absolute_url()
    assert _chart_queries(client, url)[0] == 2
    assert _chart_queries(client, url)[0] == 0
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.set_assignment_threshold(assignment_id=assignment.pk, threshold=1)
    assert _chart_queries(client, url)[0] == 2


def test_with_the_page_cache_off_they_are_drawn_every_time(client, settings, tags):
    settings.PAGE_CACHE_ENABLED = False
    doc = factories.make_document(pages=2)
    assignment = factories.make_assignment(documents=[doc])
    build([])
    assert _chart_queries(client, assignment.get_absolute_url())[0] == 2
    assert _chart_queries(client, assignment.get_absolute_url())[0] == 2
