"""Redis down: the tables come from a Postgres query bounded by a statement timeout, or are
hidden with a short note when that runs out of time; never an error, and reviews still go in."""

import pytest
from django.db import connection

from contributors import leaderboards, selectors
from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_pages_with_tables_answer_from_postgres(stopped_redis, client, reviewer, reviewer2, tags):  # noqa: F811
    member = factories.make_member(party=factories.make_party())
    doc = factories.make_document(member=member, pages=3)
    assignment = factories.make_assignment(members=[member])
    for page in doc.pages.all():
        submit_review(reviewer=reviewer, page_id=page.pk, assignment_id=assignment.pk)
    submit_review(reviewer=reviewer2, page_id=doc.pages.first().pk, assignment_id=assignment.pk)
    table = selectors.board_table(leaderboards.Board(leaderboards.MEMBER, member.pk))
    assert table.source == "postgres" and [(r.username, r.count) for r in table.rows] == [
        ("alice", 3),
        ("bob", 1),
    ]
    for url in (
        "/",
        f"/assignments/{assignment.slug}/",
        f"/members/{member.slug}/",
        "/reviewers/",
        "/users/alice/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    body = client.get("/").content.decode()
    assert f'data-user-id="{reviewer.pk}"' in body and "Counted straight from the database" in body


def test_a_fallback_that_runs_out_of_time_hides_the_table_and_spoils_nothing(reviewer):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        before = cursor.fetchone()[0]
    assert selectors.bounded_rows("SELECT pg_sleep(2)", {}, timeout_ms=20) is None
    assert selectors.bounded_rows("SELECT 7", {}, timeout_ms=500) == [(7,)]
    with connection.cursor() as cursor:  # the transaction goes on, with its own timeout back
        cursor.execute("SELECT current_setting('statement_timeout')")
        assert cursor.fetchone()[0] == before
    hidden = selectors.Table(source="hidden")
    assert hidden.hidden and hidden.note
