"""The production front for real: Debian's nginx, started here on a loopback port with
deploy/nginx.conf.template, in front of a live Django server. It serves cached anonymous pages
from memcached itself, passes everything else through, serves static files and page images from
disk, and never serves a source PDF."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from pagecache import stats
from pagecache.actions import collect_nginx_page_log
from reviews.actions import create_discovery
from tests import factories
from tests.pagecache._front_support import _get

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(settings):
    root = Path(tempfile.mkdtemp(prefix="crowd-ngx-media-", dir="/tmp"))
    (root / "pages").mkdir()
    (root / "pages" / "p1.png").write_bytes(b"\x89PNG fake image")
    (root / "pages" / "sneaky.pdf").write_bytes(b"%PDF-1.4 a source in the wrong place")
    (root / "sources" / "2024" / "05").mkdir(parents=True)
    (root / "sources" / "2024" / "05" / "claims.pdf").write_bytes(b"%PDF-1.4 private")
    settings.MEDIA_ROOT = root
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def site(tags):
    doc = factories.make_document(pages=2)
    factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    return doc


def test_it_serves_a_cached_page_from_memcached_without_django(front, site):
    status, headers, first = _get(front + "/")
    assert status == 200 and headers["X-Page-Cache"] == "miss"  # rendered by Django, copy stored
    status, headers, second = _get(front + "/")
    assert status == 200 and headers["X-Page-Cache"] == "nginx"
    assert second == first
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in headers


def test_it_passes_sessions_posts_and_uncached_routes_to_django(front, site):
    _get(front + "/tags/")
    assert _get(front + "/tags/")[1]["X-Page-Cache"] == "nginx"
    status, headers, _ = _get(front + "/tags/", cookie="sessionid=someone")
    assert status == 200 and headers.get("X-Page-Cache") != "nginx"
    status, headers, _ = _get(front + "/tags/", data=b"x=1")
    assert status in (403, 405) and headers.get("X-Page-Cache") != "nginx"  # Django's CSRF or 405
    # Two new visitors, each on a page of their own (a third would be sent to /review/next/ when
    # the page has no place left for them).
    for page in site.pages.order_by("pk")[:2]:
        status, headers, body = _get(front + f"/review/{page.pk}/")
        assert status == 200 and "X-Page-Cache" not in headers and b"csrfmiddlewaretoken" in body
    status, headers, _ = _get(front + "/no-such-page/")
    assert status == 404 and "X-Page-Cache" not in headers


def test_a_discovery_shows_through_nginx_at_once(front, site):
    _get(front + "/discoveries/")
    status, headers, body = _get(front + "/discoveries/")
    assert headers["X-Page-Cache"] == "nginx" and b"A gilded duck house" not in body
    create_discovery(page_id=site.pages.first().pk, title="A gilded duck house")
    status, headers, body = _get(front + "/discoveries/")
    assert status == 200 and b"A gilded duck house" in body


def test_static_files_and_page_images_come_from_disk_and_source_pdfs_never(front, media_root, site):
    css = (Path(settings.BASE_DIR) / "static" / "css" / "site.css").read_bytes()
    status, headers, body = _get(front + "/static/css/site.css")
    assert status == 200 and body == css and "X-Page-Cache" not in headers
    image = site.pages.first().image.name
    (media_root / image).write_bytes(b"\x89PNG fake image")
    status, headers, body = _get(front + f"/media/{image}")
    assert status == 200 and body == b"\x89PNG fake image"
    assert headers["Cache-Control"] == "private, max-age=3600"
    # A file no page refers to is not served (moderation.takedown_selectors.media_access).
    status, _, _ = _get(front + "/media/pages/p1.png")
    assert status == 404
    for path in ("/media/sources/2024/05/claims.pdf", "/media/pages/sneaky.pdf", "/media/pages/SNEAKY.PDF"):
        status, _, body = _get(front + path)
        assert status == 404 and b"PDF" not in body, path


def _flush_page_log(lines: int) -> None:
    """nginx buffers its page log (up to 5 s): ask it to reopen its logs, which writes the buffers
    out, and wait until the log has ``lines`` lines."""
    workdir = Path(settings.NGINX_PAGE_LOG_DIR)
    os.kill(int((workdir / "nginx.pid").read_text()), signal.SIGUSR1)
    deadline = time.monotonic() + 15
    while True:
        written = sum(path.read_bytes().count(b"\n") for path in workdir.glob("pages.log*"))
        if written >= lines:
            return
        assert time.monotonic() < deadline, f"nginx wrote {written} of {lines} page log lines"
        time.sleep(0.05)


def _staff_counts(client, editor) -> dict[str, int]:
    client.force_login(editor)
    page = client.get("/staff/cache/").content.decode()
    counts = {}
    for name in (stats.NGINX_HIT, stats.NGINX_MISS):
        row = re.search(rf'<tr data-name="{name}">.*?</tr>', page, re.S).group(0)
        counts[name] = int(re.findall(r"<td>([\d,]+)</td>", row)[0].replace(",", ""))
        assert html.escape(stats.MEANINGS[name]) in row  # said in words, as the rest of the page
    return counts


def test_pages_nginx_serves_are_counted_on_the_staff_page_once(front, site, client, editor):
    """Every anonymous page nginx looks up is a line in its page log; the collector counts each
    line once, however often it runs, and /staff/cache/ shows them. Requests nginx never looks up
    (a session, a POST) are not lines."""
    assert _get(front + "/")[1]["X-Page-Cache"] == "miss"
    for _ in range(7):
        assert _get(front + "/")[1]["X-Page-Cache"] == "nginx"
    _get(front + "/tags/", cookie="sessionid=someone")
    _get(front + "/tags/", data=b"x=1")
    _flush_page_log(8)
    assert collect_nginx_page_log(directory=Path(settings.NGINX_PAGE_LOG_DIR)) == 8
    assert collect_nginx_page_log(directory=Path(settings.NGINX_PAGE_LOG_DIR)) == 0
    assert _staff_counts(client, editor) == {stats.NGINX_HIT: 7, stats.NGINX_MISS: 1}
    # The staff page collects what is new when viewed (hits or misses: copies live 5 s).
    _get(front + "/")
    _get(front + "/")
    _flush_page_log(10)
    assert sum(_staff_counts(client, editor).values()) == 10
    assert sum(_staff_counts(client, editor).values()) == 10


def test_a_log_rotated_under_nginx_is_finished_then_the_new_one_read(front, site, client, editor):
    """logrotate's way: rename to pages.log.1, then nginx reopens (SIGUSR1). Lines nginx still
    wrote to the renamed log are counted, then the new log from its start."""
    workdir = Path(settings.NGINX_PAGE_LOG_DIR)
    for _ in range(3):
        _get(front + "/")  # a miss, then two hits
    _flush_page_log(3)
    assert collect_nginx_page_log(directory=workdir) == 3
    _get(front + "/")
    (workdir / "pages.log").rename(workdir / "pages.log.1")
    _get(front + "/")  # buffered, written to the renamed log when nginx reopens
    _flush_page_log(5)
    for _ in range(4):
        _get(front + "/")
    _flush_page_log(9)
    assert (workdir / "pages.log").read_bytes().count(b"\n") == 4
    assert collect_nginx_page_log(directory=workdir) == 6
    assert sum(_staff_counts(client, editor).values()) == 9  # hits or misses: copies live 5 s


def test_nginx_keeps_a_copy_per_host_and_scheme(front, site):
    """nginx's key holds $scheme and $http_host as Django writes it: a page stored for one Host
    header is not served for another (nor an https copy for http)."""
    port = urlsplit(front).port
    status, headers, _ = _get(front + "/tags/")
    assert _get(front + "/tags/")[1]["X-Page-Cache"] == "nginx"
    request = urllib.request.Request(front + "/tags/", headers={"Host": f"localhost:{port}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.headers.get("X-Page-Cache") == "miss"
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers.get("X-Page-Cache") == "nginx"


def _gate_answers() -> float:
    """Requests the media gate answered (lib.metrics; the live server runs in this process)."""
    from lib.metrics import HTTP_REQUESTS

    return sum(
        HTTP_REQUESTS.labels(route="takedown-media-gate", method="GET", status=str(status))._value.get()
        for status in (204, 403)
    )


def test_a_page_image_is_allowed_from_memcached_and_refused_at_once_when_withdrawn(
    front, media_root, site, editor
):
    """nginx keeps the gate's "public" answer in memcached (pagecache.media): the second fetch
    of an image never reaches Django; a withdrawal deletes it on commit, so the very next fetch
    is refused; a reinstatement serves it again."""
    from django.core.cache import cache

    from lib import keys
    from moderation.actions.takedown import reinstate_page, withdraw_page

    page = site.pages.order_by("number").first()
    (media_root / page.image.name).parent.mkdir(parents=True, exist_ok=True)
    (media_root / page.image.name).write_bytes(b"\x89PNG fake image")
    uri = f"/media/{page.image.name}"
    before = _gate_answers()
    assert _get(front + uri)[0] == 200
    assert _gate_answers() == before + 1 and cache.get(keys.nginx_media(uri)) is not None
    for _ in range(5):
        status, _, body = _get(front + uri)
        assert status == 200 and body == b"\x89PNG fake image"
    assert _gate_answers() == before + 1  # answered by memcached, not Django
    # Another spelling of the same file is not kept: it asks Django every time.
    assert _get(front + uri + "?v=2")[0] == 200 and _get(front + uri + "?v=2")[0] == 200
    assert _gate_answers() == before + 3

    withdraw_page(page.pk, by=editor, reason="a home address")
    assert cache.get(keys.nginx_media(uri)) is None
    status, headers, _ = _get(front + uri)
    assert status == 410 and headers["Cache-Control"] == "no-store"
    assert _get(front + uri)[0] == 410  # refusals are never kept
    assert _gate_answers() == before + 5

    reinstate_page(page.pk, by=editor, reason="address removed from the scan")
    assert _get(front + uri)[0] == 200 and _get(front + uri)[0] == 200
    assert _gate_answers() == before + 6


def test_a_document_put_back_under_embargo_takes_its_images_out_of_memcached(front, media_root, tags, editor):
    from django.core.cache import cache

    from lib import keys
    from moderation.actions.embargo import embargo_document, publish_document

    doc = factories.make_document(pages=2, published=False)
    publish_document(doc, by=editor)
    uris = []
    for page in doc.pages.all():
        for name in (page.image.name, page.thumbnail.name):
            (media_root / name).parent.mkdir(parents=True, exist_ok=True)
            (media_root / name).write_bytes(b"\x89PNG fake image")
            uris.append(f"/media/{name}")
            assert _get(front + f"/media/{name}")[0] == 200
    assert all(cache.get(keys.nginx_media(uri)) is not None for uri in uris)
    embargo_document(doc, by=editor)
    assert all(cache.get(keys.nginx_media(uri)) is None for uri in uris)
    assert {_get(front + uri)[0] for uri in uris} == {404}


def test_a_public_answer_read_before_a_withdrawal_is_not_kept_after_it(media_root, site, editor):
    """The race pagecache.media closes: the gate read "public", the withdrawal then committed
    (and deleted the entry, which was not there yet), and only then does the gate store its
    answer: the read after the store sees the withdrawal and deletes it."""
    from django.core.cache import cache

    from lib import keys
    from moderation.actions.takedown import withdraw_page
    from moderation.takedown_selectors import MediaAccess, media_access
    from pagecache import media

    page = site.pages.order_by("number").first()
    uri = f"/media/{page.image.name}"
    assert media_access(page.image.name) == MediaAccess.PUBLIC  # the gate's first read
    withdraw_page(page.pk, by=editor, reason="a home address")
    kept = media.remember(uri, page.image.name, lambda: media_access(page.image.name) == MediaAccess.PUBLIC)
    assert kept is False and cache.get(keys.nginx_media(uri)) is None
    # The positive control: a page still public is kept.
    other = site.pages.order_by("number").last()
    other_uri = f"/media/{other.image.name}"
    assert media.remember(other_uri, other.image.name, lambda: True) is True
    assert cache.get(keys.nginx_media(other_uri)) is not None
