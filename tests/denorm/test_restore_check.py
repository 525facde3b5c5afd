"""manage.py restore_check: a dump of a small seeded release restores into a fresh database
beside the live one, its counters agree with recounts there, and the copy is dropped; a dump
carrying drift is reported (non-zero); a missing dump restores nothing."""

from __future__ import annotations

import subprocess

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from denorm import operations, registry
from denorm.management.commands.restore_check import _connection_args, pg_binary, postgres_entries
from reviews.actions import submit_review
from tests import factories
from tests.denorm_support import imported

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def release(reviewer, reviewer2, tags):
    document = imported(member=factories.make_member(party=factories.make_party()), pages=4)
    assignment = factories.make_assignment(documents=[document], threshold=2)
    pages = list(document.pages.order_by("number"))
    for user in (reviewer, reviewer2):
        submit_review(reviewer=user, page_id=pages[0].pk, tag_slugs=["receipt"], assignment_id=assignment.pk)
    submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=[], assignment_id=assignment.pk)
    operations.rebuild_entries(registry.all_entries())
    return pages


def databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cursor.fetchall()}


def test_a_dump_of_the_release_restores_with_zero_drift_and_is_dropped(release, capsys):
    before = databases()
    call_command("restore_check")
    out = capsys.readouterr().out
    assert "1 documents, 4 pages, 3 reviews" in out
    assert "page-review-count: ok" in out and "reviewer-review-count: ok" in out
    assert "restore check ok: zero drift in the restored copy" in out
    assert len([line for line in out.splitlines() if line.startswith("  ") and line.endswith(": ok")]) == len(
        postgres_entries()
    )
    assert databases() == before  # the copy is gone


def test_a_given_dump_with_a_drifted_counter_is_reported(release, tmp_path, capsys):
    with connection.cursor() as cursor:  # what a hand-made fix leaves: a counter off
        cursor.execute("UPDATE reviews_page SET review_count = 99 WHERE id = %s", [release[2].pk])
    dump = tmp_path / "nightly.dump"
    db = connection.settings_dict
    subprocess.run([pg_binary("pg_dump"), "--format=custom", "--file", str(dump), *_connection_args(db, db["NAME"])],
                   check=True)  # fmt: skip
    before = databases()
    with pytest.raises(CommandError, match="the restored copy drifted: not ok: page-review-count"):
        call_command("restore_check", "--dump", str(dump))
    assert "page-review-count: missing 0, extra 0, wrong 1" in capsys.readouterr().out
    assert databases() == before


def test_a_missing_dump_restores_nothing(db, tmp_path):
    before = databases()
    with pytest.raises(CommandError, match="no dump at .*: nothing was restored"):
        call_command("restore_check", "--dump", str(tmp_path / "nope.dump"))
    assert databases() == before
