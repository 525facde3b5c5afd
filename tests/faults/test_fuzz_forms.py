"""Property-based fuzzing of the review form, the claim form, the login form and the cookies
(crowd_assignment, sessionid, csrftoken): every answer is a 2xx, a 3xx or a clear 4xx, and a 4xx
changes nothing (the row count of every model is the same before and after)."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from assignments.models import Assignment
from tests import factories
from tests.faults._fuzz import COOKIE, FUZZ, HOSTILE_FIRST, TEXT, assert_clear_answer, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(tags):
    document = factories.make_document(pages=3)
    factories.make_assignment(documents=[document], featured=Assignment.Featured.MAIN)
    return document.pages.order_by("number").first()


@FUZZ
@given(
    action=st.one_of(st.sampled_from(["submit", "skip"]), HOSTILE_FIRST),
    tags=st.lists(
        st.one_of(HOSTILE_FIRST, st.sampled_from(["receipt", "retired", "claim-form"])), max_size=6
    ),
    page_id=st.one_of(st.just(None), st.integers(min_value=-(2**70), max_value=2**70)),
    signed_in=st.booleans(),
)
# The probe's finds are always tried (issue 14, hole 7): a NUL byte in a tag.
@example(action="submit", tags=["\x00"], page_id=None, signed_in=True)
@example(action="submit", tags=["receipt", "a\x00b"], page_id=None, signed_in=False)
def test_the_review_form(page, reviewer, action, tags, page_id, signed_in):
    client = Client()
    if signed_in:
        client.force_login(reviewer)
    before = row_counts()
    path = f"/review/{page.pk if page_id is None else page_id}/"
    if page_id is not None and page_id < 0:
        path = f"/review/{page_id}/"  # not even routed: a 404
    response = client.post(path, {"action": action, "tags": tags})
    assert_clear_answer(response, before)


@FUZZ
@given(username=TEXT, email=TEXT, password1=TEXT, password2=TEXT)
def test_the_claim_form(page, username, email, password1, password2):
    client = Client()
    client.post(f"/review/{page.pk}/", {"action": "skip"})  # the first write: an anon account
    before = row_counts()
    response = client.post(
        "/account/claim/",
        {"username": username, "email": email, "password1": password1, "password2": password2},
    )
    assert_clear_answer(response, before)


@FUZZ
@given(username=st.one_of(st.just("alice"), TEXT), password=st.one_of(st.just("pw-123456!"), TEXT))
def test_the_login_form(reviewer, username, password):
    before = row_counts()
    response = Client().post("/account/login/", {"username": username, "password": password})
    assert_clear_answer(response, before)


@FUZZ
@given(assignment=COOKIE, session=COOKIE, csrf=COOKIE, method=st.sampled_from(["GET", "POST"]))
@example(assignment='"\\000"', session='"\\000"', csrf='"\\000"', method="GET")
@example(assignment='"\\000"', session="x", csrf="y", method="POST")
def test_the_cookies(page, assignment, session, csrf, method):
    client = Client()
    client.cookies["crowd_assignment"] = assignment
    client.cookies["sessionid"] = session
    client.cookies["csrftoken"] = csrf
    before = row_counts()
    for path in ("/", "/review/next/", f"/review/{page.pk}/", "/assignments/", "/account/claim/"):
        if method == "POST":
            response = client.post(
                path, {"action": "submit", "tags": ["receipt"], "csrfmiddlewaretoken": csrf}
            )
        else:
            response = client.get(path)
        assert_clear_answer(response, before)
        if response.status_code < 400:
            before = row_counts()
