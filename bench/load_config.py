"""The load benchmark's settings: sizes, durations, bounds and targets (see ``bench.load_bench``)."""

from __future__ import annotations

LOAD_PAGES = 6000


PAGES_PER_DOCUMENT = 100


THRESHOLD = 3


CLOSED_REVIEWERS = 64


CLOSED_SECONDS = 20.0


WARMUP_SECONDS = 4.0


SERVER_WARMUP_SECONDS = 3.0  # before any scenario: 12 reviewers, half of them with JS


OPEN_RATE = 100.0


OPEN_SECONDS = 15.0


READ_SECONDS = 5


READ_CONNECTIONS = 32


MAX_CYCLES = 20_000  # per scenario: the bound on requests whatever the speed


MAX_OPEN_REVIEWERS = 200  # in flight at once: beyond this a cycle is dropped (an error), so the run ends


REQUEST_TIMEOUT = 30.0  # gunicorn's own worker timeout


MAX_REDIRECTS = 5


RAISED_LIMIT = "1000000000"


TARGET_CYCLES = 150.0


TARGET_ALONE_CYCLE_MS = 12.0


TARGET_OPEN_P99_MS = 100.0


TARGET_DJANGO_RPS = 1000.0


TARGET_NGINX_RPS = 5000.0


# Page images through the nginx front, each allowed by Django first (auth_request to
# /_media-access/, one query): a review shows one image and prefetches the next.
TARGET_IMAGES_RPS = 2000.0


# The page whose image the readers fetch (seed() names it as the importer would).
IMAGE_PATH = "pages/1-load-1.jpg"
# The label of the read of every page's image and thumbnail once each (the gate asks Django).
IMAGES_FIRST_FETCH = "/media/<every page, once>"


ALONE_SECONDS = 8.0


# The flow without JS, shown beside the JS flow's figures: shorter, to keep `make bench` short.
NOJS_ALONE_SECONDS = 5.0


NOJS_CLOSED_SECONDS = 10.0


SECTION_HEADING = "## Full review cycle and cached pages"


# Written by bench/browser_bench.py (`python -m bench --browser`), kept by the full run.
BROWSER_HEADING = "## Enter to the next page shown, in Chromium"
