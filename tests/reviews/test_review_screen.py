"""The review screen: GET shows one page to tag, POST records a review or a skip through the
actions, then goes straight to the next page. Bad input is refused clearly and changes nothing."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assignments.actions import set_assignment_active, set_assignment_threshold
from assignments.models import Assignment
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from reviews.actions import MAX_TAGS_PER_REVIEW, submit_review
from reviews.models import PageTag, Review, Skip
from tests import factories

pytestmark = pytest.mark.django_db


def goes_to_another_page(response, page) -> bool:
    """After a submit or skip: straight to the review screen of a page other than ``page`` (the
    picker's choice), or to the done page when none is left."""
    url = response.url
    return (
        response.status_code == 302
        and url != f"/review/{page.pk}/"
        and (url.startswith("/review/") or url.endswith("/done/"))
    )


@pytest.fixture
def release(tags):
    """A main featured assignment over one document of three pages."""
    doc = factories.make_document(pages=3, title="Expenses 2008")
    assignment = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN)
    Assignment.objects.filter(pk=assignment.pk).update(page_count=3)
    assignment.refresh_from_db()
    return doc, list(doc.pages.order_by("number")), assignment


def user_count():
    return get_user_model().objects.count()


def test_it_shows_the_page_image_progress_and_tag_controls_in_editors_order(client, release):
    doc, pages, assignment = release
    response = client.get(f"/review/{pages[0].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="/media/{pages[0].image.name}"' in html
    assert re.search(r'<img[^>]+alt="Scan of page 1 of “Expenses 2008”', html)
    assert '<progress id="progress-' in html and 'value="0" max="3"' in html
    controls = re.findall(r'<input type="checkbox" name="tags" value="([^"]+)" data-key="([^"]+)"', html)
    assert controls == [
        ("receipt", "r"),
        ("claim-form", "c"),
        ("hand-written", "h"),
        ("investigate-this", "i"),
    ]
    assert 'value="retired"' not in html  # inactive tags are not offered
    assert 'name="action" value="submit"' in html and 'name="action" value="skip"' in html
    assert 'data-skip-key="s"' in html
    assert "csrfmiddlewaretoken" in html


def test_it_gives_keyless_tags_a_spare_key_and_never_reuses_the_skip_key(client, release):
    factories.make_tag("letter", order=20)
    factories.make_tag("speeding", key="s", order=21)
    html = client.get(f"/review/{release[1][0].pk}/").content.decode()
    assert 'value="letter" data-key="1"' in html
    assert 'value="speeding" data-key="s"' in html
    assert 'data-skip-key="n"' in html


def test_it_does_not_show_other_reviewers_tags(client, release, reviewer, reviewer2):
    page = release[1][0]
    submit_review(only_open_pages=False, reviewer=reviewer2, page_id=page.pk, tag_slugs=["investigate-this"])
    client.force_login(reviewer)
    html = client.get(f"/review/{page.pk}/").content.decode()
    assert "tag-counts" not in html
    assert "What reviewers found" not in html


def test_it_shows_the_reviewers_own_count(client, release, reviewer):
    _doc, pages, _a = release
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=pages[0].pk, tag_slugs=[])
    client.force_login(reviewer)
    html = client.get(f"/review/{pages[1].pk}/").content.decode()
    assert '<strong id="own-count">1</strong> <span id="own-count-noun">page</span>.' in html
    assert "already reviewed" not in html
    assert "already reviewed" in client.get(f"/review/{pages[0].pk}/").content.decode()


@pytest.mark.parametrize("page_id", ["999999", "9223372036854775808"])
def test_it_answers_404_for_a_page_that_does_not_exist(client, release, page_id):
    assert client.get(f"/review/{page_id}/").status_code == 404


def test_the_review_screen_costs_a_fixed_number_of_queries(
    client, release, reviewer, django_assert_max_num_queries
):
    _doc, pages, _a = release
    client.force_login(reviewer)
    client.get(f"/review/{pages[0].pk}/")  # warm the session cache
    factories.make_tag("more-a", order=30)
    factories.make_tag("more-b", order=31)
    # The user with their Reviewer row (reviews.auth), the page with whether they reviewed it,
    # the tag set, the current assignment (the prefetch finds no following page here).
    with django_assert_max_num_queries(4):
        assert client.get(f"/review/{pages[1].pk}/").status_code == 200


def test_it_records_a_review_with_tags_in_the_current_assignment_and_goes_next(client, release, reviewer):
    _doc, pages, assignment = release
    client.force_login(reviewer)
    response = client.post(
        f"/review/{pages[0].pk}/", {"tags": ["receipt", "hand-written"], "action": "submit"}
    )
    assert goes_to_another_page(response, pages[0])
    review = Review.objects.get()
    assert review.reviewer == reviewer and review.page_id == pages[0].pk
    assert review.assignment_id == assignment.pk
    assert set(review.tags.values_list("slug", flat=True)) == {"receipt", "hand-written"}
    assignment.refresh_from_db()
    assert assignment.completed_count == 1


def test_it_records_zero_tags_as_nothing_of_note(client, release, reviewer):
    client.force_login(reviewer)
    response = client.post(f"/review/{release[1][0].pk}/", {"action": "submit"})
    assert response.status_code == 302
    assert Review.objects.get().tags.count() == 0


def test_it_uses_the_assignment_named_by_the_cookie(client, release, reviewer):
    other_doc = factories.make_document(pages=1)
    other = factories.make_assignment(documents=[other_doc], slug="the-other-one")
    client.force_login(reviewer)
    client.cookies[CURRENT_ASSIGNMENT_COOKIE] = "the-other-one"
    client.post(f"/review/{other_doc.pages.get().pk}/", {"action": "submit"})
    assert Review.objects.get().assignment_id == other.pk


def test_a_review_outside_the_current_assignment_is_credited_to_one_containing_the_page(
    client, release, reviewer
):
    """Counted for every assignment with the page; filed under one of them, never under the
    visitor's current (main) assignment, which does not contain it."""
    _doc, _pages, main = release
    member = factories.make_member()
    doc = factories.make_document(member=member, pages=1)
    by_doc = factories.make_assignment(documents=[doc])
    by_member = factories.make_assignment(members=[member])
    client.force_login(reviewer)
    client.post(f"/review/{doc.pages.get().pk}/", {"action": "submit"})
    assert Review.objects.get().assignment_id == by_doc.pk  # the oldest containing it
    assert [a.completed_count for a in Assignment.objects.filter(pk__in=[by_doc.pk, by_member.pk])] == [1, 1]
    main.refresh_from_db()
    assert main.completed_count == 0


def test_a_double_submit_keeps_the_first_review(client, release, reviewer):
    page = release[1][0]
    client.force_login(reviewer)
    client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "submit"})
    response = client.post(f"/review/{page.pk}/", {"tags": ["claim-form"], "action": "submit"})
    assert goes_to_another_page(response, page)
    assert list(Review.objects.get().tags.values_list("slug", flat=True)) == ["receipt"]
    page.refresh_from_db()
    assert page.review_count == 1


def test_skip_records_no_review_but_remembers_the_page(client, release, reviewer):
    page = release[1][0]
    client.force_login(reviewer)
    response = client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "skip"})
    assert goes_to_another_page(response, page)
    assert not Review.objects.exists()
    assert Skip.objects.filter(reviewer=reviewer, page=page).exists()
    page.refresh_from_db()
    assert page.review_count == 0


def test_the_submit_costs_a_fixed_number_of_queries(client, release, reviewer, django_assert_max_num_queries):
    _doc, pages, _a = release
    client.force_login(reviewer)
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})
    # Was 21. Now 7: the user with their reviewer row, the current assignment, the review (its tags,
    # reviewer, page, crediting assignment and insert: one batch), its tags and counters (one
    # batch), the transaction's begin and end (a savepoint here), and the next page: the submit
    # picks it itself (it redirects straight to it, saving the /review/next/ request).
    # +1 at most: with the Redis sets not built here the next page comes from the Postgres
    # fallback, which may read a second review-count tier (fewest reviews first).
    # -1: the Reviewer row comes with the user (reviews.auth), not in a query of its own.
    with django_assert_max_num_queries(8):
        client.post(
            f"/review/{pages[1].pk}/", {"tags": ["receipt", "claim-form", "hand-written"], "action": "submit"}
        )
    assert Review.objects.count() == 2


# --- Bad input: a clear error and no change ---------------------------------------------------


def assert_nothing_recorded(users_before):
    assert not Review.objects.exists()
    assert not Skip.objects.exists()
    assert not PageTag.objects.exists()
    assert user_count() == users_before


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["receipt", "made-up"], "Unknown or inactive tag: made-up"),
        (["retired"], "Unknown or inactive tag: retired"),
    ],
)
def test_it_refuses_unknown_or_inactive_tags(client, release, tags, message):
    users = user_count()
    response = client.post(f"/review/{release[1][0].pk}/", {"tags": tags, "action": "submit"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was recorded" in response.content.decode()
    assert_nothing_recorded(users)
    assert not client.session.get("_auth_user_id")


def test_it_refuses_more_tags_than_a_review_may_have(client, release, tags):
    """51 distinct tag slugs (the limit is 50): a clear 400 page, and no review, tag count,
    account or session. The slugs need not exist: the count is refused before they are looked up."""
    users = user_count()
    slugs = ["receipt"] + [f"tag-{i}" for i in range(MAX_TAGS_PER_REVIEW)]
    response = client.post(f"/review/{release[1][0].pk}/", {"tags": slugs, "action": "submit"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That review could not be recorded" in html
    assert "Too many tags." in html
    assert "Nothing was recorded" in html
    assert_nothing_recorded(users)
    assert not client.session.get("_auth_user_id")
    release[1][0].refresh_from_db()
    assert release[1][0].review_count == 0


@pytest.mark.parametrize("action", ["submit", "skip"])
@pytest.mark.parametrize("page_id", ["987654321", "9223372036854775808"])
def test_it_refuses_a_forged_page_id(client, release, action, page_id):
    users = user_count()
    response = client.post(f"/review/{page_id}/", {"tags": ["receipt"], "action": action})
    assert response.status_code == 404
    # Beyond a bigint the address matches no route (lib.ids: the id converter owns the bound).
    expected = "That page does not exist." if int(page_id) < 2**63 else "There is no such page here."
    assert expected in response.content.decode()
    assert_nothing_recorded(users)


@pytest.mark.parametrize("data", [{}, {"action": "delete"}, {"action": ""}])
def test_it_refuses_a_missing_or_unknown_action(client, release, reviewer, data):
    client.force_login(reviewer)
    users = user_count()
    response = client.post(f"/review/{release[1][0].pk}/", {"tags": ["receipt"], **data})
    assert response.status_code == 400
    assert "submit or skip" in response.content.decode()
    assert_nothing_recorded(users)


def test_it_refuses_a_post_without_the_csrf_token(release):
    client = Client(enforce_csrf_checks=True)
    page = release[1][0]
    client.get(f"/review/{page.pk}/")  # the visitor has the CSRF cookie, but the form lacks the token
    users = user_count()
    response = client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "submit"})
    assert response.status_code == 403
    assert "nothing was recorded" in response.content.decode()
    assert_nothing_recorded(users)


def test_it_accepts_a_post_with_the_csrf_token(release):
    client = Client(enforce_csrf_checks=True)
    page = release[1][0]
    html = client.get(f"/review/{page.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(f"/review/{page.pk}/", {"csrfmiddlewaretoken": token, "action": "submit"})
    assert response.status_code == 302
    assert Review.objects.count() == 1


def test_it_refuses_an_oversized_body(client, release, reviewer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    client.force_login(reviewer)
    users = user_count()
    response = client.post(
        f"/review/{release[1][0].pk}/", {"tags": ["receipt"] * 300, "action": "submit", "junk": "x" * 4096}
    )
    assert response.status_code in (400, 413)
    assert_nothing_recorded(users)


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods(client, release, reviewer, method):
    client.force_login(reviewer)
    response = getattr(client, method)(f"/review/{release[1][0].pk}/")
    assert response.status_code == 405
    assert "only accepts GET, HEAD, POST" in response.content.decode()
    assert not Review.objects.exists()


# --- Home page, page detail, profile ------------------------------------------------------


def test_the_home_page_shows_the_main_assignment_and_the_alternatives(
    client, release, django_assert_max_num_queries
):
    _doc, _pages, main = release
    alternatives = []
    for i in range(3):
        alt = factories.make_assignment(
            documents=[factories.make_document(pages=2)], featured=Assignment.Featured.ALTERNATIVE
        )
        Assignment.objects.filter(pk=alt.pk).update(page_count=2, completed_count=i, feature_order=i)
        alternatives.append(alt)
    factories.make_assignment(featured=Assignment.Featured.ALTERNATIVE, active=False, slug="closed-one")
    # The 48-hour table reads Redis once built (as the beat task keeps it); see
    # tests/contributors/test_home_and_profile_queries.py for the query counts with rows.
    from denorm import operations, registry

    operations.rebuild_entries(registry.select(["recent-reviewers"]))
    with django_assert_max_num_queries(3):  # assignments, discoveries (+ names when any)
        response = client.get("/")
    html = response.content.decode()
    assert f'href="/assignments/{main.slug}/start/"' in html
    assert "Start reviewing" in html
    assert f'<progress id="progress-{main.pk}" value="0" max="3"' in html
    for i, alt in enumerate(alternatives):
        assert f'<progress id="progress-{alt.pk}" value="{i}" max="2"' in html
        # A complete one (2 of 2) offers no start: it would only thank a visitor for finishing.
        assert (f'href="/assignments/{alt.slug}/start/"' in html) == (i < 2)
    assert "closed-one" not in html
    assert "Latest discoveries" in html and "Most active reviewers, past 48 hours" in html


def test_the_home_page_creates_no_account(client, release):
    users = user_count()
    client.get("/")
    client.get(f"/review/{release[1][0].pk}/")
    assert user_count() == users


def test_a_page_hides_its_tags_until_the_viewer_reviewed_it(client, release, reviewer, reviewer2):
    _doc, pages, assignment = release
    Assignment.objects.filter(pk=assignment.pk).update(threshold=2)
    submit_review(only_open_pages=False, reviewer=reviewer2, page_id=pages[0].pk, tag_slugs=["receipt"])
    html = client.get(f"/pages/{pages[0].pk}/").content.decode()
    assert "tag-counts" not in html
    assert "1 of 2 reviews so far" in html
    assert "once 2 people have reviewed it" in html
    client.force_login(reviewer)
    assert "tag-counts" not in client.get(f"/pages/{pages[0].pk}/").content.decode()
    submit_review(
        only_open_pages=False, reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt", "hand-written"]
    )
    html = client.get(f"/pages/{pages[0].pk}/").content.decode()
    assert re.search(r"Receipt</span> <strong>2</strong>", html)
    assert re.search(r"Hand written</span> <strong>1</strong>", html)


def test_skipping_a_page_does_not_reveal_its_tags(client, release, reviewer, reviewer2):
    """Otherwise a reviewer could skip, peek at the others' tags and then submit a nudged review."""
    _doc, pages, assignment = release
    Assignment.objects.filter(pk=assignment.pk).update(threshold=2)
    submit_review(only_open_pages=False, reviewer=reviewer2, page_id=pages[0].pk, tag_slugs=["receipt"])
    client.force_login(reviewer)
    client.post(f"/review/{pages[0].pk}/", {"action": "skip"})
    assert Skip.objects.filter(reviewer=reviewer, page=pages[0]).exists()
    assert "tag-counts" not in client.get(f"/pages/{pages[0].pk}/").content.decode()


def test_a_page_shows_its_tags_to_everyone_once_it_reached_the_threshold(client, release, reviewer):
    page = release[1][0]
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["investigate-this"])
    html = client.get(f"/pages/{page.pk}/").content.decode()
    assert re.search(r"Investigate this</span> <strong>1</strong>", html)
    assert client.get("/pages/424242/").status_code == 404


def test_a_page_in_overlapping_assignments_shows_its_tags_at_the_lowest_active_threshold(
    client, release, reviewer, editor
):
    """The page is in the release's assignment (threshold 2 here) and in a stricter one
    (threshold 5): the public waits for 2 reviews, not 5, and the page says so. Closing the
    lenient assignment leaves the strict one's 5: staff never wait, the page's own reviewer sees
    the counts once they reviewed it. tests/reviews/test_selectors.py covers the rule with members
    and parties, tests/results/test_public_threshold.py every other public surface."""
    doc, pages, assignment = release
    page = pages[0]
    set_assignment_threshold(assignment_id=assignment.pk, threshold=2)
    factories.make_assignment(documents=[doc], threshold=5)
    others = [factories.make_user() for _ in range(6)]
    url = f"/pages/{page.pk}/"
    submit_review(reviewer=others[0], page_id=page.pk, tag_slugs=["receipt"])

    public = client.get(url).content.decode()
    assert "tag-counts" not in public
    assert "1 of 2 reviews so far" in public
    assert (
        "Counts are shown to everyone once 2 people have reviewed this page "
        "(the lowest threshold of the open assignments it is in; 1 when it is in none), "
        "or once an open assignment retires it early because reviewers agree with confidence."
    ) in public
    submit_review(reviewer=others[1], page_id=page.pk, tag_slugs=["receipt"])
    public = client.get(url).content.decode()
    assert re.search(r"Receipt</span> <strong>2</strong>", public)
    assert "2 reviews so far." in public

    # Closing the lenient assignment leaves the strict one's 5, on this page and its neighbour.
    set_assignment_active(assignment_id=assignment.pk, active=False)
    public = client.get(url).content.decode()
    assert "tag-counts" not in public and "2 of 5 reviews so far" in public
    assert "once 5 people have reviewed this page" in public
    staff = Client()
    staff.force_login(editor)
    staff_view = staff.get(url).content.decode()
    assert re.search(r"Receipt</span> <strong>2</strong>", staff_view)
    assert "you see them because you are staff" in staff_view
    client.force_login(reviewer)
    assert "tag-counts" not in client.get(url).content.decode()
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["claim-form"])
    own = client.get(url).content.decode()
    assert re.search(r"Receipt</span> <strong>2</strong>", own)
    assert re.search(r"Claim form</span> <strong>1</strong>", own)
    assert "you see them because you reviewed this page" in own
    for user in others[2:4]:
        submit_review(reviewer=user, page_id=page.pk, tag_slugs=["receipt"])
    assert re.search(r"Receipt</span> <strong>4</strong>", Client().get(url).content.decode())


def test_a_profile_lists_the_reviewers_pages_in_tag_buckets(client, release, reviewer):
    _doc, pages, _a = release
    submit_review(
        only_open_pages=False, reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt", "hand-written"]
    )
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=pages[1].pk, tag_slugs=["receipt"])
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=pages[2].pk, tag_slugs=[])
    html = client.get("/users/alice/").content.decode()
    sections = re.findall(
        r'<h2 id="bucket-\d+">(?:<a href="[^"]+">)?([^<]+)(?:</a>)? <span class="count">(\d+)</span>', html
    )
    assert sections == [("Receipt", "2"), ("Hand written", "1"), ("Nothing of note", "1")]
    assert f'data-page-id="{pages[2].pk}"' in html
    assert client.get("/users/nobody-here/").status_code == 404


def test_a_profile_costs_a_fixed_number_of_queries(client, release, reviewer, django_assert_max_num_queries):
    for page in factories.make_document(pages=12).pages.all():
        submit_review(
            only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "claim-form"]
        )
    # user, threshold, bucket counts, thumbnails, their tags and pages, discoveries credited
    # (tests/contributors/test_home_and_profile_queries.py: constant in the number of rows)
    with django_assert_max_num_queries(7):
        assert client.get("/users/alice/").status_code == 200


def test_a_get_with_review_parameters_records_nothing(client, release):
    page = release[1][0]
    users = user_count()
    response = client.get(f"/review/{page.pk}/", {"tags": "receipt", "action": "submit"})
    assert response.status_code == 200
    assert_nothing_recorded(users)


def test_a_review_body_far_larger_than_a_review_is_refused_at_default_settings(client, release, reviewer):
    """The site-wide upload limit is sized for the admin; the review form has its own, tight one."""
    client.force_login(reviewer)
    users = user_count()
    response = client.post(f"/review/{release[1][0].pk}/", {"action": "submit", "junk": "x" * 32_000})
    assert response.status_code == 413
    assert "Nothing was recorded." in response.content.decode()
    assert_nothing_recorded(users)


def test_an_oversized_body_gets_a_clear_page(client, release, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = client.post(f"/review/{release[1][0].pk}/", {"action": "submit", "junk": "x" * 4096})
    assert response.status_code == 400
    assert "malformed or too large. Nothing was recorded." in response.content.decode()
