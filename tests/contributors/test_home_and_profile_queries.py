"""The home page and a profile cost a constant number of queries, whatever the number of rows in
their tables, discoveries and buckets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews.actions import create_discovery
from tests import factories
from tests.contributors._support import build, review

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _grow(tags, pages, people, n):
    for person in people[:n]:
        for page in pages[:n]:
            review(person, page, "investigate-this", "receipt")
    for page in pages[:n]:
        create_discovery(page_id=page.pk, title=f"Find {page.pk}")


def test_the_home_page_costs_the_same_with_one_row_or_ten(client, tags):
    pages = list(factories.make_document(pages=10).pages.order_by("number"))
    people = [factories.make_user(f"h{i}") for i in range(10)]
    build()
    _grow(tags, pages, people, 1)
    small = _queries(client, "/")
    _grow(tags, pages[1:], people[1:], 9)
    body = client.get("/").content.decode()
    assert body.count('data-user-id="') == 10 and body.count("Find ") == 5
    assert _queries(client, "/") == small <= 4


def test_a_profile_costs_the_same_with_one_bucket_or_many(client, tags, reviewer):
    more_tags = [factories.make_tag(f"extra-{i}") for i in range(8)]
    pages = list(factories.make_document(pages=30).pages.order_by("number"))
    build()
    review(reviewer, pages[0], "receipt")
    create_discovery(page_id=pages[0].pk, title="One")
    small = _queries(client, "/users/alice/")
    for i, page in enumerate(pages[1:]):
        review(reviewer, page, "receipt", more_tags[i % 8].slug, *(["claim-form"] if i % 2 else []))
        create_discovery(page_id=page.pk, title=f"Find {i}")
    body = client.get("/users/alice/").content.decode()
    assert body.count('class="bucket"') == 10
    assert _queries(client, "/users/alice/") == small <= 8
