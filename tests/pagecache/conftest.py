"""Page cache tests: the cache is on (as in production) and counts are read fresh unless a test
sets a staleness bound."""

from __future__ import annotations

import pytest

from pagecache import generations, stats


@pytest.fixture(autouse=True)
def _fresh_page_cache(settings):
    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_SOFT_SECONDS = 0
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    generations.forget_local()
    stats.reset_pending()
    yield
    generations.forget_local()
    stats.reset_pending()
