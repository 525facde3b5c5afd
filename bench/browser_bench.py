"""Keyboard Enter to the next page fully shown, in Chromium (issue 13: under 100 ms).

    python -m bench.browser_bench                 # 20 cycles in each of the three modes below
    python -m bench.browser_bench --cycles 40 --dwell-ms 800

On the bench's own database, Redis and memcached (``bench.__main__``'s environment; the
development data is never touched): a synthetic release seeded as the load bench does
(``load_bench.seed``), with a real JPEG of a scanned page's size (1400 x 1980, noisy, about
the weight of a scan) written for every page, and gunicorn started as ``make run`` serves
(``gunicorn.conf.py``), media through the site's own gate (``SERVE_MEDIA``, ``private,
max-age=3600``). Run in three modes (``MODES``), each on a fresh seed and gunicorn:

- before: ``REVIEW_PREFETCH_NEXT=0 REVIEW_FAST_PATH=0``: Enter submits the form, the submit picks
  afresh, its redirect navigates to the next review screen, whose image is fetched then;
- prefetch only: ``REVIEW_FAST_PATH=0``: the same navigation, but the screen reserved the
  following page and prefetched its image while the reviewer looked at the current one;
- after: the site as it is by default: the screen's script posts the form with ``fetch()``
  (``Accept: application/json``), and the reply names the next page, which the script swaps into
  the same document (the same ``<img id="page-image">`` gets the new ``src``; its image was
  prefetched): no navigation.

One cycle, timed in the browser's own clock: the ``keydown`` of Enter (its event timestamp) to
the ``load`` event of ``#page-image`` showing the next page (the image fully received and
decoded for display), in the next document after a navigation or in the same one after a swap.
Both are recorded by a script Playwright injects into every document (CSP does not apply to
it), kept in sessionStorage across a navigation. Before each Enter the reviewer "looks at" the
page for ``--dwell-ms`` (a real reviewer takes seconds; the prefetch needs only the image's
transfer time). Bounded: a fixed number of cycles, each with a timeout.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
PAGES = 300
WARMUP = 3
TIMEOUT_MS = 10_000

# Runs in every document before its own scripts: the two ends of a cycle, kept across a
# navigation in sessionStorage (same origin), in epoch milliseconds of the browser's clock. The
# load listener catches the next screen's image and a swapped-in src alike (load does not
# bubble, but it is seen on the way down).
TIMING_SCRIPT = """
document.addEventListener('keydown', function (e) {
  if (e.key === 'Enter') sessionStorage.setItem('enter', String(performance.timeOrigin + e.timeStamp));
}, true);
document.addEventListener('load', function (e) {
  if (e.target && e.target.id === 'page-image') {
    sessionStorage.setItem('shown', String(performance.timeOrigin + performance.now()));
  }
}, true);
"""

IMAGE_SHOWN = (
    "() => { const i = document.getElementById('page-image'); return i && i.complete && i.naturalWidth > 0; }"
)


# (label, environment of gunicorn, None = the default), in the order run and shown.
MODES = (
    ("before", {"REVIEW_PREFETCH_NEXT": "0", "REVIEW_FAST_PATH": "0"}),
    ("prefetch only", {"REVIEW_PREFETCH_NEXT": "1", "REVIEW_FAST_PATH": "0"}),
    ("after", {"REVIEW_PREFETCH_NEXT": None, "REVIEW_FAST_PATH": None}),
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def scan_jpeg() -> bytes:
    """A greyscale page with paper noise and lines: a scanned page's size (1400 x 1980) and
    roughly its weight (a few hundred KiB)."""
    from PIL import Image, ImageDraw

    rng = random.Random(7)
    img = Image.effect_noise((1400, 1980), 6).point(lambda v: min(255, v + 100))  # grey paper
    draw = ImageDraw.Draw(img)
    for i in range(60):
        y = 120 + i * 30
        draw.line([(100, y), (100 + rng.randrange(300, 1200), y)], fill=40, width=3)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=60)
    return out.getvalue()


def write_images(media_root: Path) -> int:
    from catalogue.models import Page

    data = scan_jpeg()
    for name in Page.objects.values_list("image", flat=True):
        path = media_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(data)


# Before Enter: the ends cleared, the document marked (a navigation replaces it) and the
# resource timings dropped (the swap's fetches are the only ones after it); the image shown now.
BEFORE_ENTER = """() => {
  sessionStorage.removeItem('enter'); sessionStorage.removeItem('shown');
  window.crowdBenchSameDocument = true;
  performance.clearResourceTimings();
  const img = document.getElementById('page-image');
  return img.currentSrc || img.src;
}"""

# The cycle's two ends, whether it navigated, whether the image shown came over the network
# after the Enter (none of its entries after the Enter moved bytes: it was in the browser's
# cache, prefetched), and where the time went: after a navigation from the next screen's
# Navigation and Resource Timing (its time origin is the navigation's start: the submit's POST,
# redirected to it); after a swap from the submit's fetch() entry. null where a step is unknown.
BREAKDOWN = """() => {
  const enter = Number(sessionStorage.getItem('enter')), shown = Number(sessionStorage.getItem('shown'));
  const origin = performance.timeOrigin, img = document.getElementById('page-image');
  const src = img.currentSrc || img.src;
  const navigated = window.crowdBenchSameDocument !== true;
  const loads = performance.getEntriesByName(src).filter(e => origin + e.startTime >= enter);
  const fromNetwork = loads.some(e => e.transferSize > 0);
  const image = loads[loads.length - 1];
  const steps = {};
  if (navigated) {
    const nav = performance.getEntriesByType('navigation')[0];
    steps['Enter to the POST sent'] = origin + nav.fetchStart - (nav.redirectEnd - nav.redirectStart) - enter;
    steps['submit (POST, 302)'] = nav.redirectEnd - nav.redirectStart;
    steps['review screen (GET)'] = nav.responseEnd - nav.fetchStart;
    steps['screen HTML to image requested'] = image ? image.startTime - nav.responseEnd : null;
    steps['image requested to loaded'] = image ? (shown - origin) - image.startTime : null;
  } else {
    const post = performance.getEntriesByType('resource').find(
      e => (e.initiatorType === 'fetch' || e.initiatorType === 'xmlhttprequest') && origin + e.startTime >= enter);
    steps['Enter to the POST sent'] = post ? origin + post.startTime - enter : null;
    steps['submit (POST, JSON)'] = post ? post.responseEnd - post.startTime : null;
    steps['JSON reply to image loaded'] = post ? (shown - origin) - post.responseEnd : null;
  }
  return [enter, shown, !fromNetwork, navigated, steps, src];
}"""


@dataclass
class ModeResult:
    samples: list[float] = field(default_factory=list)  # Enter -> next image loaded, ms
    cached: int = 0  # cycles whose next image came from the browser's cache
    navigated: int = 0  # cycles that loaded a new document (the fast path swaps in place)
    steps: dict[str, list[float]] = field(default_factory=dict)  # step -> ms per cycle


def run_cycles(base_url: str, *, cycles: int, dwell_ms: int) -> ModeResult:
    """Enter -> next image shown for ``cycles`` cycles (after ``WARMUP``), in one tab."""
    from playwright.sync_api import sync_playwright

    result = ModeResult()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(TIMING_SCRIPT)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(base_url + "/review/next/")
            for n in range(WARMUP + cycles):
                page.wait_for_function(IMAGE_SHOWN)
                page.wait_for_timeout(dwell_ms)
                shown_before = page.evaluate(BEFORE_ENTER)
                page.keyboard.press("Enter")
                # Polls again in the next document when the submit navigates.
                page.wait_for_function("() => sessionStorage.getItem('shown') !== null")
                enter, shown, cached, navigated, steps, src = page.evaluate(BREAKDOWN)
                if src == shown_before:
                    raise RuntimeError(f"Enter showed the same image again ({src})")
                if navigated and ("/review/" not in page.url or page.url.endswith("/review/next/")):
                    raise RuntimeError(f"the submit went to {page.url}, not to a review screen")
                if n >= WARMUP:
                    result.samples.append(shown - enter)
                    result.cached += cached
                    result.navigated += navigated
                    for name, ms in steps.items():
                        if ms is not None:
                            result.steps.setdefault(name, []).append(ms)
        finally:
            browser.close()
    return result


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def markdown(results: dict[str, ModeResult], *, cycles: int, dwell_ms: int, image_kib: int) -> list[str]:
    """The section of docs/benchmarks.md: each mode's figures, then where the time goes."""
    from datetime import datetime

    from bench import load_bench

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        load_bench.BROWSER_HEADING,
        "",
        f"`python -m bench --browser` (`python -m bench.browser_bench --cycles N`), last run "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average after it {load}: one reviewer "
        f"in headless Chromium against gunicorn as `make run` serves it, the bench's own database, "
        f"{PAGES} pages with a {image_kib} KiB JPEG each served through the site's media route "
        f"(`private, max-age=3600`), {dwell_ms} ms on each page before Enter, {cycles} timed cycles "
        "per mode; timed in the browser from the Enter `keydown` to the `load` event of "
        "`#page-image` showing the next page.",
        "",
        "- before: `REVIEW_PREFETCH_NEXT=0 REVIEW_FAST_PATH=0`: the form is submitted, the submit picks "
        "afresh and redirects, the browser navigates to the next review screen and fetches its image then.",
        "- prefetch only: `REVIEW_FAST_PATH=0`: the same navigation, but the review screen reserved the "
        "reviewer's following page and prefetched its image (`assignments/picker/following.py`).",
        "- after (the default site): the review screen's script posts the form with `fetch()` "
        "(`Accept: application/json`); the reply names the next page and the script swaps it into the "
        'same document (the same `<img id="page-image">` gets its `src`, prefetched): no navigation.',
        "",
        "| | median | p90 | max | next image from the cache | cycles that navigated |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {statistics.median(r.samples):.1f} ms | {percentile(r.samples, 0.9):.1f} ms | "
            f"{max(r.samples):.1f} ms | {r.cached}/{len(r.samples)} | {r.navigated}/{len(r.samples)} |"
        )
    names = list(dict.fromkeys(name for r in results.values() for name in r.steps))
    lines += [
        "",
        "Where the time goes (medians, ms; - where a mode has no such step):",
        "",
        "| step | " + " | ".join(results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for name in names:
        lines.append(
            f"| {name} | " + " | ".join(_median(r.steps.get(name, [])) for r in results.values()) + " |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cycles", type=int, default=20, help="timed cycles per mode (default 20)")
    parser.add_argument(
        "--dwell-ms", type=int, default=500, help="time on each page before Enter (default 500)"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install it with `apt-get install chromium`", file=sys.stderr)
        return 2
    from bench.__main__ import _prepare_environment

    workdir = Path(tempfile.mkdtemp(prefix="crowd-browser-bench-"))
    servers = _prepare_environment(workdir)
    media = workdir / "media"
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ["SERVE_MEDIA"] = "1"
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from bench import load_bench

        call_command("collectstatic", interactive=False, verbosity=0)  # as `make run` does
        results: dict[str, ModeResult] = {}
        for label, environment in MODES:
            load_bench.seed(PAGES)  # the same fresh release for every mode
            size = write_images(media)
            for name, value in environment.items():
                # Read by gunicorn's environment (load_bench.start_gunicorn); None: the default.
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            port = load_bench.free_port()
            server = load_bench.start_gunicorn(workdir, port)
            try:
                results[label] = run_cycles(
                    f"http://127.0.0.1:{port}", cycles=args.cycles, dwell_ms=args.dwell_ms
                )
            finally:
                load_bench.stop(server)
        print(
            f"Enter -> next page image loaded, Chromium, {args.cycles} cycles each, dwell {args.dwell_ms} ms,"
        )
        print(
            f"images {size // 1024} KiB JPEG, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        for label, r in results.items():
            print(
                f"  {label:14} median {statistics.median(r.samples):6.1f} ms   p90 {percentile(r.samples, 0.9):6.1f} ms"
                f"   max {max(r.samples):6.1f} ms   next image from cache {r.cached}/{len(r.samples)}"
                f"   navigated {r.navigated}/{len(r.samples)}"
            )
            for name, values in r.steps.items():
                print(f"      {name:34} median {statistics.median(values):6.1f} ms")
        output = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
        document = output.read_text() if output.exists() else ""
        section = markdown(results, cycles=args.cycles, dwell_ms=args.dwell_ms, image_kib=size // 1024)
        output.write_text(load_bench.splice(document, section, heading=load_bench.BROWSER_HEADING))
        print(f"wrote the browser section of {output}")
        return 0
    finally:
        from lib import services

        services.stop_pidfile(servers["redis_pid"])
        services.stop_pidfile(servers["memcached_pid"])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
