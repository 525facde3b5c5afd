"""New visitors arriving at once, each a browser with its own cookies, reviewing until the
assignment is done: the picker's liveness (issue 21) as a reviewer sees it, over real HTTP.

Used by ``make bench`` (the liveness scenario) and by the tests
(``tests/assignments/test_picker_visitors.py``). Each visitor starts at ``/review/next/`` with
no cookies, follows redirects, and submits the review form (with scripts: ``Accept:
application/json`` and the next page swapped in from the reply, as ``static/js/review.js``
does; without: the form posts and the redirect is followed). A visitor sent to the busy page
counts it and asks again after a pause; the done page ends the visit.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field

from bench.http_client import Connection, CookieJar, ReviewForm, parse_review_form

_REVIEW_URL = re.compile(r"^/review/(\d+)/$")
MAX_REDIRECTS = 8
ASSIGNMENT_COOKIE = "crowd_assignment"  # assignments.selectors.CURRENT_ASSIGNMENT_COOKIE


@dataclass
class Visit:
    """What one visitor saw."""

    reviews: list[int] = field(default_factory=list)  # pages whose review was recorded
    busy: int = 0  # times sent to the busy page
    done: bool = False  # reached the done page
    errors: list[str] = field(default_factory=list)
    screens: list[int] = field(default_factory=list)  # review screens loaded
    moved: bool = False  # moved to another assignment (every page of theirs held by others)


class Visitor:
    """One browser: a connection, a cookie jar and (behind a trusted proxy) its address."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        fast: bool = True,
        address: str | None = None,
        gate: asyncio.Semaphore | None = None,
    ):
        self.connection = Connection(host, port)
        self.cookies = CookieJar()
        self.fast = fast
        self.headers = {"X-Forwarded-For": address} if address else {}
        # Requests in flight across all visitors (a test server's listen backlog is short).
        self.gate = gate
        self._assignment: str | None = None  # the current-assignment cookie first seen

    async def request(self, method: str, url: str, **kwargs):
        for attempt in range(3):
            try:
                if self.gate is None:
                    return await self._send(method, url, **kwargs)
                async with self.gate:
                    return await self._send(method, url, **kwargs)
            except (ConnectionError, asyncio.IncompleteReadError):
                # A connection the server dropped: a browser tries again on a new one (a repeated
                # submit is harmless: one review per reviewer per page).
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _send(self, method: str, url: str, **kwargs):
        return await self.connection.request(
            method, url, cookies=self.cookies, headers=self.headers, **kwargs
        )

    def close(self) -> None:
        self.connection.close()

    async def get(self, url: str):
        """GET ``url`` through its redirects: (response, final URL)."""
        for _ in range(MAX_REDIRECTS):
            response = await self.request("GET", url)
            if response.status in (301, 302, 303) and response.location:
                url = response.location
                continue
            return response, url
        raise RuntimeError(f"too many redirects from {url}")

    async def screen(self, url: str, visit: Visit) -> tuple[ReviewForm | None, str]:
        """The review form at ``url`` (through redirects), or None with where it ended."""
        response, url = await self.get(url)
        if "/busy/" in url:
            visit.busy += 1
            return None, url
        if "/done/" in url:
            visit.done = True
            return None, url
        if visit.screens and self._moved():
            visit.moved = True
            return None, url
        form = parse_review_form(response.body.decode("utf-8", "replace")) if response.status == 200 else None
        if form is None:
            visit.errors.append(f"GET {response.status} {url}")
        elif match := _REVIEW_URL.match(form.action):
            visit.screens.append(int(match.group(1)))
        return form, url

    async def submit(self, form: ReviewForm, visit: Visit) -> tuple[ReviewForm | None, str | None]:
        """Post ``form``; (the next form when the reply carried it, else the URL to load)."""
        scripted = self.fast and form.fast_path
        response = await self.request(
            "POST", form.action, body=form.body(tags=[]), accept="application/json" if scripted else None
        )
        page = int(_REVIEW_URL.match(form.action).group(1)) if _REVIEW_URL.match(form.action) else None
        if (
            scripted
            and response.status == 200
            and response.headers.get("content-type", "").startswith("application/json")
        ):
            reply = json.loads(response.body)
            if reply.get("recorded"):
                visit.reviews.append(page)
            if reply.get("page") and reply.get("tagset") == form.tagset and not form.first_write:
                return form.for_next(url=reply["url"], csrf=reply["csrf"]), None
            return None, reply["url"]
        if not scripted and response.status == 302 and response.location:
            visit.reviews.append(page)
            return None, response.location
        visit.errors.append(f"POST {response.status} {form.action}")
        return None, "/review/next/"

    async def review_until_done(
        self,
        *,
        busy_wait: float = 0.05,
        max_steps: int = 400,
        walk_away_after_screen: bool = False,
        start: str = "/review/next/",
        max_reviews: int | None = None,
        stop_when_moved: bool = False,
    ) -> Visit:
        """Review until the done page (or ``max_steps`` requests), starting at ``start`` (an
        assignment's start link, say); with ``walk_away_after_screen``, load one review screen
        and leave; with ``max_reviews``, leave after that many reviews; with
        ``stop_when_moved``, leave when the site moves them to another assignment (every page
        left in theirs is held by others; they would carry on there)."""
        visit = Visit()
        url: str | None = start
        if start.startswith("/assignments/") and start.endswith("/start/"):
            self._assignment = start.split("/")[2]  # moved means: away from this one
        form: ReviewForm | None = None
        for _ in range(max_steps):
            if form is None:
                form, where = await self.screen(url or "/review/next/", visit)
                if visit.done or visit.moved:
                    break
                if form is None:
                    if visit.errors:
                        break
                    await asyncio.sleep(busy_wait)  # busy: the page would refresh itself
                    url = "/review/next/"
                    continue
                self._moved()  # remembers the assignment they started in
                if walk_away_after_screen:
                    break
            form, url = await self.submit(form, visit)
            if max_reviews is not None and len(visit.reviews) >= max_reviews:
                break
            if stop_when_moved and self._moved():
                visit.moved = True
                break
        return visit

    def _moved(self) -> bool:
        current = self.cookies.cookies.get(ASSIGNMENT_COOKIE)
        if self._assignment is None:
            self._assignment = current
        return current is not None and current != self._assignment


async def visit_all(
    host: str,
    port: int,
    count: int,
    *,
    fast: bool = True,
    address_of=None,
    walk_away=frozenset(),
    in_flight: int = 32,
    **kwargs,
) -> list[Visit]:
    """``count`` new visitors at once; ``address_of(i)``: visitor i's address (behind a trusted
    proxy), ``walk_away``: the visitors who leave after their first screen; at most
    ``in_flight`` requests at a time (a test server's listen backlog is short)."""
    gate = asyncio.Semaphore(in_flight)
    visitors = [
        Visitor(host, port, fast=fast, address=address_of(i) if address_of else None, gate=gate)
        for i in range(count)
    ]
    try:
        return list(
            await asyncio.gather(
                *(
                    v.review_until_done(walk_away_after_screen=i in walk_away, **kwargs)
                    for i, v in enumerate(visitors)
                )
            )
        )
    finally:
        for v in visitors:
            v.close()
