"""``lib.sql_batch.run``: several statements in one execute, in order, each with its own named
parameters (the same name in two statements may carry two values), each one's rows back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lib.sql_batch import Statement, run, run_named

pytestmark = pytest.mark.django_db


def test_it_sends_the_statements_in_one_execute_and_returns_each_ones_rows():
    with CaptureQueriesContext(connection) as ctx, connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE batch_test (n int)")
        results = run(
            cursor,
            [
                Statement("INSERT INTO batch_test VALUES (%(n)s), (%(n)s + 1)", {"n": 1}),
                Statement("SELECT %(n)s, '100%%'", {"n": 7}),
                Statement("SELECT n FROM batch_test ORDER BY n"),  # sees the insert above
            ],
        )
    assert len(ctx.captured_queries) == 2  # the CREATE, then the batch
    assert results == [[], [(7, "100%")], [(1,), (2,)]]


def test_run_named_gives_each_statements_rows_under_its_name():
    with connection.cursor() as cursor:
        answers = run_named(
            cursor,
            {"seven": Statement("SELECT %(n)s", {"n": 7}), "none": Statement("SELECT 1 WHERE false")},
        )
    assert answers == {"seven": [(7,)], "none": []}


def test_no_statement_sends_nothing():
    with connection.cursor() as cursor, CaptureQueriesContext(connection) as ctx:
        assert run(cursor, []) == []
    assert ctx.captured_queries == []


def test_the_system_checks_refuse_server_side_binding(monkeypatch):
    """It would break every batch (a prepared statement holds one statement): refused at start-up."""
    from django.conf import settings

    from lib.checks import check_services

    assert not [p for p in check_services(None) if p.id == "crowd.E003"]
    options = {**settings.DATABASES["default"].get("OPTIONS", {}), "server_side_binding": True}
    monkeypatch.setitem(settings.DATABASES["default"], "OPTIONS", options)  # read by the check only
    assert [p.id for p in check_services(None) if p.id == "crowd.E003"] == ["crowd.E003"]
