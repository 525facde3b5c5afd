"""Product knobs: the picker, the review screen, the page cache, consensus and gold pages, search,
and the hooks through which lower layers reach higher ones (docs/architecture.md)."""

from __future__ import annotations

from config.env import env_bool, env_float, env_int, env_str
from config.settings.core import TESTING

# --- The picker and the review screen ------------------------------------------------------------

# Seconds a page just handed to one reviewer is softly reserved so others get different pages.
PICKER_RESERVATION_SECONDS = env_int("PICKER_RESERVATION_SECONDS", 60, minimum=0)
# Live reservations one client address (IPv6: its /64) may hold in one assignment; beyond it a
# visitor from there is served pages with a free place without reserving them (no hoarding).
PICKER_MAX_HOLDS_PER_ADDRESS = env_int("PICKER_MAX_HOLDS_PER_ADDRESS", 20, minimum=1)
# Seconds a page handed out by /review/next/ stays its visitor's before its review screen is
# loaded, when someone else needs a page (then the place may be taken over: a hoarder who never
# loads screens holds nothing longer than this).
PICKER_SOFT_GRACE_SECONDS = env_int("PICKER_SOFT_GRACE_SECONDS", 3, minimum=1)
# The review screen reserves the reviewer's following page and lets the browser prefetch its
# image, so Enter shows it from the cache (assignments.picker.following). Off: the submit picks
# afresh, as before (bench/browser_bench.py measures both).
REVIEW_PREFETCH_NEXT = env_bool("REVIEW_PREFETCH_NEXT", True)
# The review screen's fast path (static/js/review.js, frontdesk.fast_path.wants_next_screen): with
# scripts, a submit answers with the next screen's data and the page is swapped in place (one
# request per review instead of two). Off: the form posts and follows the redirect, as without
# scripts.
REVIEW_FAST_PATH = env_bool("REVIEW_FAST_PATH", True)
# Size of the memcached pool of to-do page ids per assignment (the Redis-down fallback).
PICKER_POOL_SIZE = env_int("PICKER_POOL_SIZE", 1000, minimum=10)

# --- The page cache ------------------------------------------------------------------------------

# Full-page cache of public pages for visitors without a session (pagecache/, docs/caching.md):
# counts shown on cached pages may be this many seconds stale per process; nginx's copies live
# this long.
# Off by default in tests (they count a view's queries); tests/pagecache turns it on.
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", not TESTING)
PAGE_CACHE_SOFT_SECONDS = env_int("PAGE_CACHE_SOFT_SECONDS", 0 if TESTING else 5, minimum=0)
# Also store copies nginx serves from memcached by URI (deploy/nginx.conf).
PAGE_CACHE_NGINX = env_bool("PAGE_CACHE_NGINX", True)
# nginx keeps the media gate's "public" answer for an image this long (pagecache.media): it is
# deleted at once when the page's visibility changes; this bounds it only if memcached refuses
# that delete. 0: nginx asks Django for every image.
MEDIA_GATE_CACHE_SECONDS = env_int("MEDIA_GATE_CACHE_SECONDS", 60, minimum=0)
# The directory nginx writes its page log to (the same variable fills deploy/nginx.conf.template),
# read every minute for the nginx hits and misses on /staff/cache/ (pagecache.nginx_log). Empty:
# no nginx in front, nothing read.
NGINX_PAGE_LOG_DIR = env_str("NGINX_PAGE_LOG_DIR", "")

# --- Results, consensus, search ------------------------------------------------------------------

# In-order listings and export cursors leave out what is younger than this: a review is stamped
# a moment before it commits, and a reader must never pass a position something can still land at.
RESULTS_IN_ORDER_SETTLE_SECONDS = env_int("RESULTS_IN_ORDER_SETTLE_SECONDS", 5, minimum=0)
# Gold (known-answer) pages are mixed into a reviewer's picks at GOLD_RATE_NEW over their first
# GOLD_NEWCOMER_REVIEWS reviews, then GOLD_RATE (the Gravity Spy taper, panoptes #1895).
GOLD_RATE_NEW = env_float("GOLD_RATE_NEW", 0.2, minimum=0.0, maximum=1.0)
GOLD_RATE = env_float("GOLD_RATE", 0.05, minimum=0.0, maximum=1.0)
GOLD_NEWCOMER_REVIEWS = env_int("GOLD_NEWCOMER_REVIEWS", 20, minimum=0)
# How the picker (a lower layer) asks the consensus app for a gold page: a dotted path, "" for none.
# Off in tests by default: tests that count the picker's queries must not depend on a random
# draw; the gold tests turn it on (tests/consensus/test_gold.py).
PICKER_GOLD_HOOK = "" if TESTING else "consensus.gold.pick_gold_page"
# The profile's part from the consensus app: a reviewer's own agreement with the editors.
PROFILE_CONTEXT_HOOKS = ["consensus.selectors.profile_context"]
# Longest Tesseract may take over one page before it is stopped and the page marked failed.
OCR_TIMEOUT_SECONDS = env_int("OCR_TIMEOUT_SECONDS", 120, minimum=1)
# A search ranks at most this many matching pages (the first by page id, after the filters):
# ranking every match of a common word is what makes full-text search slow at scale.
SEARCH_RANK_CANDIDATES = env_int("SEARCH_RANK_CANDIDATES", 2000, minimum=10)
# Extra context for the page and document views from apps above the catalogue (hooks, so the
# catalogue's views import nothing of theirs): the search app's reading view.
PAGE_VIEW_CONTEXT_HOOKS = ["search.reading.page_context"]
DOCUMENT_VIEW_CONTEXT_HOOKS = ["search.reading.document_context"]
