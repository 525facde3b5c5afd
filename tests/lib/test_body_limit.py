"""The 16 KB review limit is enforced before anything reads the body: the CSRF middleware
would otherwise parse up to DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) first."""

from __future__ import annotations

import io

import pytest
from django.core.handlers.wsgi import WSGIHandler

from frontdesk.views import REVIEW_MAX_BODY_BYTES
from reviews.models import Review
from tests import factories


class CountingInput(io.BytesIO):
    """wsgi.input that records how many bytes anything read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


def wsgi_post(path: str, body: bytes, *, content_length: str | None, **extra) -> tuple[str, CountingInput]:
    stream = CountingInput(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **extra,
    }
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    statuses = []
    body_out = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    assert body_out
    return statuses[0], stream


@pytest.fixture
def page(db):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document])
    return document.pages.get()


@pytest.mark.django_db(transaction=True)
def test_an_oversized_review_is_refused_unread(page):
    body = b"action=submit&tags=" + b"x" * (2 * 1024 * 1024)
    status, stream = wsgi_post(f"/review/{page.pk}/", body, content_length=str(len(body)))
    assert status.startswith("413")
    assert stream.bytes_read == 0
    assert not Review.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_review_of_unknown_length_is_refused_unread(page):
    body = b"action=submit&tags=" + b"x" * 100_000
    status, stream = wsgi_post(
        f"/review/{page.pk}/", body, content_length=None, HTTP_TRANSFER_ENCODING="chunked"
    )
    assert status.startswith("411")
    assert stream.bytes_read == 0


@pytest.mark.django_db(transaction=True)
def test_a_review_just_under_the_limit_is_read(page):
    """The limit is the review's, not every body's: a normal-sized post gets to the CSRF check."""
    body = b"action=submit&tags=" + b"x" * (REVIEW_MAX_BODY_BYTES - 100)
    status, stream = wsgi_post(f"/review/{page.pk}/", body, content_length=str(len(body)))
    assert status.startswith("403")  # no CSRF token: refused by the CSRF check, having read it
    assert stream.bytes_read == len(body)


@pytest.mark.django_db(transaction=True)
def test_other_posts_keep_the_site_wide_limit(page):
    body = b"username=a&password=" + b"x" * (REVIEW_MAX_BODY_BYTES * 2)
    status, stream = wsgi_post("/account/login/", body, content_length=str(len(body)))
    assert status.startswith("403")  # CSRF, after reading: the login form is not review-limited
    assert stream.bytes_read == len(body)


def test_the_test_client_gets_a_413_for_a_large_review(client, page):
    response = client.post(
        f"/review/{page.pk}/",
        b"x" * (REVIEW_MAX_BODY_BYTES + 1),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
