"""Progress you can see (results/charts.py): an assignment's reviews per hour and pages
completed over time, the staff's per-minute and per-hour charts split by assignment, and the
release's progress on the home page; each number checked against the reviews in Postgres."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from assignments.models import Assignment
from results import charts
from reviews.models import Review
from tests import factories
from tests.contributors._support import build, review

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 15, 40, tzinfo=UTC)


def _at(reviews, when: datetime) -> None:
    """Move reviews to a time (the action stamps ``created`` with now): test data only."""
    Review.objects.filter(pk__in=[r.pk for r in reviews]).update(created=when)


@pytest.fixture
def world(tags):
    member = factories.make_member()
    doc = factories.make_document(member=member, pages=4)
    assignment = factories.make_assignment(members=[member], threshold=2, slug="jo")
    Assignment.objects.filter(pk=assignment.pk).update(created=NOW - timedelta(hours=5, minutes=10))
    assignment.refresh_from_db()
    build([])
    pages = list(doc.pages.order_by("number"))
    people = [factories.make_user(f"r{i}") for i in range(3)]
    return assignment, pages, people


def test_the_assignment_charts_count_the_reviews_in_postgres(world):
    assignment, pages, (a, b, c) = world
    # 10:xx: a and b review page 1 (complete at 2 reviews); 12:xx: a reviews page 2; 14:xx: c
    # reviews pages 1 and 2 (page 2 complete), b reviews page 3.
    _at(
        [review(a, pages[0], assignment=assignment), review(b, pages[0], assignment=assignment)],
        NOW.replace(hour=10, minute=5),
    )
    _at([review(a, pages[1], assignment=assignment)], NOW.replace(hour=12, minute=30))
    _at(
        [
            review(c, pages[0], assignment=assignment),
            review(c, pages[1], assignment=assignment),
            review(b, pages[2], assignment=assignment),
        ],
        NOW.replace(hour=14, minute=59),
    )
    quarantined = review(c, pages[3], assignment=assignment)
    Review.objects.filter(pk=quarantined.pk).update(created=NOW.replace(hour=14), quarantined=True)

    rate, completed = charts.assignment_charts(assignment, now=NOW)
    hours = [b.hour for b in rate.buckets]
    assert hours == [10, 11, 12, 13, 14, 15]  # from the assignment's creation to now, by hour
    assert rate.series[0].values == [2, 0, 1, 0, 3, 0]  # the quarantined review counts nowhere
    # Against Postgres: the total is every counted review filed under the assignment.
    assert rate.total == Review.objects.filter(assignment=assignment, quarantined=False).count()
    assert completed.series[0].values == [1, 1, 1, 1, 2, 2]  # cumulative, at each hour's end
    svg = rate.svg()
    assert 'data-values="2,0,1,0,3,0"' in svg and 'role="img"' in svg
    assert re.search(r"<desc id=\"rate-\d+-desc\">Reviews per hour, 06 Dec 10:00 to 06 Dec 15:00 UTC", svg)


def test_a_long_life_is_charted_per_day_as_an_hourly_average(world):
    assignment, pages, (a, b, c) = world
    Assignment.objects.filter(pk=assignment.pk).update(created=NOW - timedelta(days=20))
    assignment.refresh_from_db()
    _at(
        [review(a, pages[0], assignment=assignment), review(b, pages[1], assignment=assignment)],
        NOW - timedelta(days=3),
    )
    rate, _ = charts.assignment_charts(assignment, now=NOW)
    assert len(rate.buckets) == 21 and "averaged over each day" in rate.title
    assert rate.series[0].values[-4] == pytest.approx(2 / 24)


def test_the_staff_charts_split_reviews_by_assignment(world):
    assignment, pages, (a, b, c) = world
    other_doc = factories.make_document(pages=2)
    other = factories.make_assignment(documents=[other_doc], slug="other")
    other_page = other_doc.pages.first()
    _at([review(a, pages[0], assignment=assignment)], NOW - timedelta(minutes=3))
    _at(
        [review(b, pages[0], assignment=assignment), review(c, other_page, assignment=other)],
        NOW - timedelta(minutes=1),
    )
    _at([review(c, pages[1], assignment=assignment)], NOW - timedelta(hours=5))  # outside the hour
    _at([review(a, pages[2])], NOW - timedelta(hours=60))  # outside both
    per_minute, per_hour = charts.recent_activity_charts(now=NOW)
    assert len(per_minute.buckets) == 60 and len(per_hour.buckets) == 48
    by_name = {s.name: s.values for s in per_minute.series}
    assert set(by_name) == {assignment.title, other.title}
    assert by_name[assignment.title][-4] == 1 and by_name[assignment.title][-2] == 1
    assert by_name[other.title][-2] == 1 and sum(by_name[other.title]) == 1
    hourly = {s.name: s.values for s in per_hour.series}
    assert sum(hourly[assignment.title]) == 3 and hourly[assignment.title][-6] == 1
    # Against Postgres: the 48 hours hold every counted review newer than their first hour.
    assert (
        per_hour.total == Review.objects.filter(created__gte=per_hour.buckets[0], quarantined=False).count()
    )


def test_the_release_progress_counts_public_pages_looked_at(world):
    assignment, pages, (a, b, c) = world
    factories.make_document(pages=2, published=False)  # embargoed: not part of what the public sees
    review(a, pages[0], assignment=assignment)
    review(b, pages[0], assignment=assignment)
    review(a, pages[1], assignment=assignment)
    progress = charts.release_progress()
    assert (progress.looked_at, progress.pages) == (2, 4)
    assert progress.chart.total == 3 and progress.chart.buckets[-1] <= timezone.now()


def test_the_pages_show_their_charts_without_script(client, world):
    assignment, pages, (a, b, c) = world
    review(a, pages[0], assignment=assignment)
    body = client.get(assignment.get_absolute_url()).content.decode()
    assert body.count('<figure class="chart"') == 2 and "<summary>The numbers" in body
    home = client.get("/").content.decode()
    assert "1</strong> of 4 pages looked at" in home and 'data-chart="release-rate"' in home
    # Drawn on the server: the SVG is in the HTML itself.
    assert re.search(r'data-chart="release-rate">\s*<figcaption[^>]*>[^<]*</figcaption>\s*<svg ', home)


def test_the_charts_cost_the_same_queries_with_few_reviews_or_more(client, world):
    """Two grouped queries for an assignment's charts, however many reviews and hours."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assignment, pages, people = world
    review(people[0], pages[0], assignment=assignment)
    with CaptureQueriesContext(connection) as few:
        charts.assignment_charts(assignment, now=NOW)
    for i, person in enumerate(people):
        for page in pages[1:]:
            _at([review(person, page, assignment=assignment)], NOW - timedelta(hours=i + 1))
    with CaptureQueriesContext(connection) as more:
        rate, completed = charts.assignment_charts(assignment, now=NOW)
    assert len(few.captured_queries) == len(more.captured_queries) == 2
    assert completed.series[0].values[-1] == 3  # pages 2-4 (three reviews each); page 1 has one


def test_a_quiet_hour_says_so(client, world, editor):
    per_minute, _ = charts.recent_activity_charts(now=NOW)
    assert per_minute.series == [] and per_minute.summary == "No reviews in this time."
    client.force_login(editor)
    body = client.get("/staff/activity/").content.decode()
    assert body.count("No reviews in this time.") >= 2  # the SVG's description and the words below
