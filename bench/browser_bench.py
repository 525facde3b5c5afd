"""Keyboard Enter to the next page fully shown, in Chromium (issue 13: under 100 ms).

    python -m bench.browser_bench                 # 20 cycles with the following page off, then on
    python -m bench.browser_bench --cycles 40 --dwell-ms 800

On the bench's own database, Redis and memcached (``bench.__main__``'s environment; the
development data is never touched): a synthetic release seeded as the load bench does
(``load_bench.seed``), with a real JPEG of a scanned page's size (1400 x 1980, noisy, about
the weight of a scan) written for every page, and gunicorn started as ``make run`` serves
(``gunicorn.conf.py``), media through the site's own gate (``SERVE_MEDIA``, ``private,
max-age=3600``). Run twice, with ``REVIEW_PREFETCH_NEXT=0`` (before: the submit picks afresh,
the image is fetched after the navigation) and ``=1`` (the following page reserved and its
image prefetched while the reviewer looks at the current one).

One cycle, timed in the browser's own clock: the ``keydown`` of Enter (its event timestamp) to
the ``load`` event of the next screen's ``#page-image`` (the image fully received and decoded
for display), both recorded by a script Playwright injects into every document (CSP does not
apply to it). Before each Enter the reviewer "looks at" the page for ``--dwell-ms`` (a real
reviewer takes seconds; the prefetch needs only the image's transfer time). Bounded: a fixed
number of cycles, each with a timeout.
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
from datetime import UTC
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
PAGES = 300
WARMUP = 3
TIMEOUT_MS = 10_000

# Runs in every document before its own scripts: the two ends of a cycle, kept across the
# navigation in sessionStorage (same origin), in epoch milliseconds of the browser's clock.
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
    from reviews.models import Page

    data = scan_jpeg()
    for name in Page.objects.values_list("image", flat=True):
        path = media_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(data)


# The cycle's two ends and where the time went, from the next screen's Navigation and Resource
# Timing (its time origin is the navigation's start: the submit's POST, redirected to it).
BREAKDOWN = """() => {
  const enter = Number(sessionStorage.getItem('enter')), shown = Number(sessionStorage.getItem('shown'));
  const nav = performance.getEntriesByType('navigation')[0], origin = performance.timeOrigin;
  const img = performance.getEntriesByName(document.getElementById('page-image').src)[0];
  return [enter, shown, img.transferSize, {
    'Enter to the POST sent': origin + nav.fetchStart - (nav.redirectEnd - nav.redirectStart) - enter,
    'submit (POST, 302)': nav.redirectEnd - nav.redirectStart,
    'review screen (GET)': nav.responseEnd - nav.fetchStart,
    'screen HTML to image requested': img.startTime - nav.responseEnd,
    'image requested to loaded': (shown - origin) - img.startTime,
  }];
}"""


def run_cycles(
    base_url: str, *, cycles: int, dwell_ms: int
) -> tuple[list[float], int, dict[str, list[float]]]:
    """Enter -> next image shown, in ms, for ``cycles`` cycles (after ``WARMUP``), how many of
    those next images came from the browser's cache (``transferSize`` 0), and the steps' ms."""
    from playwright.sync_api import sync_playwright

    parts: dict[str, list[float]] = {}
    samples: list[float] = []
    cached = 0
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
                page.evaluate(
                    "() => { sessionStorage.removeItem('enter'); sessionStorage.removeItem('shown'); }"
                )
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                if "/review/" not in page.url or page.url.endswith("/review/next/"):
                    raise RuntimeError(f"the submit went to {page.url}, not to a review screen")
                page.wait_for_function("() => sessionStorage.getItem('shown') !== null")
                enter, shown, transfer, steps = page.evaluate(BREAKDOWN)
                if n >= WARMUP:
                    samples.append(shown - enter)
                    cached += transfer == 0
                    for name, ms in steps.items():
                        parts.setdefault(name, []).append(ms)
        finally:
            browser.close()
    return samples, cached, parts


def markdown(results: dict, *, cycles: int, dwell_ms: int, image_kib: int) -> list[str]:
    """The section of docs/benchmarks.md: before (no prefetch) and after, with the steps."""
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
        "per mode; timed in the browser from the Enter `keydown` to the next screen's "
        "`#page-image` `load` event. Before: `REVIEW_PREFETCH_NEXT=0` (the submit picks afresh and "
        "the image is fetched after the navigation). After: the review screen reserves the "
        "reviewer's following page and prefetches its image (`assignments/picker/following.py`).",
        "",
        "| | median | p90 | max | next image from the cache |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, label in (("0", "before"), ("1", "after")):
        samples, cached, _ = results[mode]
        lines.append(
            f"| {label} | {statistics.median(samples):.1f} ms | {percentile(samples, 0.9):.1f} ms | "
            f"{max(samples):.1f} ms | {cached}/{len(samples)} |"
        )
    lines += ["", "Where the time goes (medians, ms):", "", "| step | before | after |", "|---|---:|---:|"]
    for name in results["1"][2]:
        values = [
            statistics.median(results[m][2][name]) if results[m][2].get(name) else float("nan") for m in "01"
        ]
        lines.append(f"| {name} | {values[0]:.1f} | {values[1]:.1f} |")
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
        results = {}
        for mode in ("0", "1"):
            load_bench.seed(PAGES)  # the same fresh release for both modes
            size = write_images(media)
            os.environ["REVIEW_PREFETCH_NEXT"] = mode
            port = load_bench.free_port()
            server = load_bench.start_gunicorn(workdir, port)
            try:
                samples, cached, parts = run_cycles(
                    f"http://127.0.0.1:{port}", cycles=args.cycles, dwell_ms=args.dwell_ms
                )
            finally:
                load_bench.stop(server)
            results[mode] = (samples, cached, parts)
        print(
            f"Enter -> next page image loaded, Chromium, {args.cycles} cycles each, dwell {args.dwell_ms} ms,"
        )
        print(
            f"images {size // 1024} KiB JPEG, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        for mode, label in (("0", "before (no prefetch)"), ("1", "after (following page prefetched)")):
            samples, cached, parts = results[mode]
            print(
                f"  {label:36} median {statistics.median(samples):6.1f} ms   p90 {percentile(samples, 0.9):6.1f} ms"
                f"   max {max(samples):6.1f} ms   next image from cache {cached}/{len(samples)}"
            )
            for name, values in parts.items():
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
