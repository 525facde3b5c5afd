"""memcached stopped mid-test: every page still renders normally, without errors, and the
bypass is counted; when memcached is back the cache works again."""

from __future__ import annotations

import pytest

from pagecache import stats
from tests import factories
from tests.assignments._picker_support import own_memcached

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_memcached(settings):
    with own_memcached() as server:
        caches = {**settings.CACHES}
        caches["default"] = {**caches["default"], "LOCATION": settings.MEMCACHED_SERVERS}
        settings.CACHES = caches  # Django resets its cache connections on this change
        yield server


def test_pages_render_while_memcached_is_stopped(client, tags, private_memcached, reviewer):
    doc = factories.make_document(pages=2)
    factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    urls = ["/", "/tags/", "/tags/receipt/", f"/pages/{doc.pages.first().pk}/", "/discoveries/"]
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Page-Cache"] == "hit"
    private_memcached.stop()
    stats.reset_pending()
    for url in urls:
        for _ in range(3):
            response = client.get(url)
            assert response.status_code == 200, url
            assert "X-Page-Cache" not in response  # rendered by the view, not stored
    assert stats.pending().get(stats.BYPASS) == 3 * len(urls)
    # Writes still succeed (their generation bumps are lost with memcached, which holds no pages).
    from reviews.actions import submit_review

    submit_review(reviewer=reviewer, page_id=doc.pages.first().pk, tag_slugs=["receipt"])
    client.force_login(reviewer)
    assert client.get("/tags/receipt/").status_code == 200
