"""A small HTTP/1.1 keep-alive client on raw asyncio streams, for the load benchmark.

Why not aiohttp or httpx: on a 2-core machine the client shares the cores with the server it
measures, so every microsecond it spends is taken from gunicorn. This client does only what the
review cycle needs: one persistent connection per simulated browser, ``Content-Length`` and
chunked bodies, a cookie jar (name=value, deletions), the review form read from the page with
two regular expressions (no DOM), and the review screen's JavaScript fast path (the submit
answered with JSON naming the next page, when the form offers it: see
:meth:`ReviewForm.for_next`). It never follows
redirects by itself: the caller does, as a browser would, so each request is timed alone.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


class ProtocolError(Exception):
    """The server's reply was not HTTP/1.1 we understand (or the connection closed mid-reply)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers other than Set-Cookie joined by ", "
    set_cookies: list[str]
    body: bytes

    @property
    def location(self) -> str | None:
        """The redirect target as a path (an absolute URL on our host is cut to its path)."""
        value = self.headers.get("location")
        if value is None:
            return None
        parts = urlsplit(value)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class CookieJar:
    """One browser's cookies for one host: enough of RFC 6265 for Django's cookies."""

    cookies: dict[str, str] = field(default_factory=dict)

    def update(self, set_cookie_headers: list[str]) -> None:
        for header in set_cookie_headers:
            first, _, attributes = header.partition(";")
            name, sep, value = first.strip().partition("=")
            if not sep or not name:
                continue
            attrs = attributes.lower()
            # Django deletes a cookie with Max-Age=0 and an expiry in 1970.
            if "max-age=0" in attrs.replace(" ", "") or "01 jan 1970" in attrs:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip().strip('"')

    def header(self) -> str | None:
        if not self.cookies:
            return None
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


_FORM = re.compile(r'<form\b([^>]*\bid="review-form"[^>]*)>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input\b([^>]*)>", re.S)
_ATTR = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')


@dataclass
class ReviewForm:
    action: str
    hidden: list[tuple[str, str]]  # csrfmiddlewaretoken, first_write: sent as they are
    tags: list[str]  # the tag checkboxes' values
    fast_path: bool = False  # data-fast-path="1": the screen's script may post it with fetch()
    tagset: str | None = None  # data-tagset: the fingerprint of the tag set on screen

    @property
    def first_write(self) -> bool:
        """A visitor's first review: it makes their account."""
        return any(name == "first_write" for name, _ in self.hidden)

    def body(self, *, action: str = "submit", tags: list[str] = ()) -> bytes:
        fields = [*self.hidden, *(("tags", t) for t in tags), ("action", action)]
        return urlencode(fields).encode()

    def for_next(self, *, url: str, csrf: str) -> ReviewForm:
        """The form of the next page as the fast path's script keeps it after a JSON reply: the
        same tags, posted to ``url`` with the reply's CSRF token (it changes when the first submit
        logs the new anonymous reviewer in). No ``first_write``: that first submit made the
        account, and a logged-in reviewer's screen carries none."""
        return ReviewForm(
            action=url,
            hidden=[("csrfmiddlewaretoken", csrf)],
            tags=self.tags,
            fast_path=self.fast_path,
            tagset=self.tagset,
        )


def parse_review_form(page: str) -> ReviewForm | None:
    """The review form of a review screen, or None when the page has none."""
    found = _FORM.search(page)
    if found is None:
        return None
    form = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(found.group(1))}
    if "action" not in form:
        return None
    hidden, tags = [], []
    for match in _INPUT.finditer(found.group(2)):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
        kind = attrs.get("type", "text").lower()
        if kind == "hidden" and "name" in attrs:
            hidden.append((attrs["name"], attrs.get("value", "")))
        elif kind == "checkbox" and attrs.get("name") == "tags":
            tags.append(attrs.get("value", ""))
    return ReviewForm(
        action=form["action"],
        hidden=hidden,
        tags=tags,
        fast_path=form.get("data-fast-path") == "1",
        tagset=form.get("data-tagset"),
    )


def parse_head(head: bytes) -> tuple[int, dict[str, str], list[str]]:
    """Status, headers and Set-Cookie values of a response head (without the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        version, code, *_ = lines[0].split(" ", 2)
        status = int(code)
    except ValueError as exc:
        raise ProtocolError(f"bad status line {lines[0]!r}") from exc
    if not version.startswith("HTTP/1."):
        raise ProtocolError(f"not HTTP/1.x: {lines[0]!r}")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        elif name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    return status, headers, cookies


class Connection:
    """One persistent connection to ``host:port``; reopened when the server closes it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0  # connections made (a keep-alive client makes few)

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.opened += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        cookies: CookieJar | None = None,
        body: bytes | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: crowd-bench"]
        if accept is not None:
            head.append(f"Accept: {accept}")
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if cookies is not None and (cookie := cookies.header()):
            head.append(f"Cookie: {cookie}")
        if body is not None:
            head.append("Content-Type: application/x-www-form-urlencoded")
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in (1, 2):
            reused = self.writer is not None
            if not reused:
                await self._open()
            try:
                self.writer.write(data)
                response = await self._read(method)
            except (ConnectionError, asyncio.IncompleteReadError, ProtocolError):
                self.close()
                # A kept-alive connection the server closed while idle: retry once on a new
                # one (what browsers do); a fresh connection failing is an error.
                if reused and attempt == 1:
                    continue
                raise
            if response.headers.get("connection", "").lower() == "close":
                self.close()
            if cookies is not None and response.set_cookies:
                cookies.update(response.set_cookies)
            return response
        raise AssertionError("unreachable")

    async def _read(self, method: str) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, headers, set_cookies = parse_head(head[:-4])
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await self.reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")  # no trailers from our servers
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # no length: the body runs to the end of the connection
            body = await self.reader.read()
            self.close()
        return Response(status=status, headers=headers, set_cookies=set_cookies, body=body)
