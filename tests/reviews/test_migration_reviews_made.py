"""The backfill of ``Reviewer.reviews_made`` (reviews.0012), run on rows it must fill: every
review counted, quarantined and gold ones too, across chunks."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from reviews.actions import submit_review
from reviews.models import Reviewer
from tests import factories
from tests.denorm_support import drift, imported

pytestmark = pytest.mark.django_db(transaction=True)

migration = importlib.import_module("reviews.migrations.0012_reviewer_reviews_made")


def test_the_backfill_counts_every_review_in_chunks(tags, monkeypatch):
    doc = imported(None, 3)
    factories.make_assignment(documents=[doc], threshold=3)
    pages = list(doc.pages.values_list("pk", flat=True))
    users = [factories.make_user(f"bf-{i}") for i in range(3)]
    for n, user in enumerate(users, start=1):
        for page in pages[:n]:
            submit_review(reviewer=user, page_id=page, tag_slugs=[])
    Reviewer.objects.update(reviews_made=0)  # as the column is when the migration adds it
    monkeypatch.setattr(migration, "CHUNK", 2)  # two chunks for three reviewers
    migration.backfill(apps, SimpleNamespace(connection=connection))
    made = dict(Reviewer.objects.values_list("user__username", "reviews_made"))
    assert made == {"bf-0": 1, "bf-1": 2, "bf-2": 3}
    assert drift(["reviewer-review-count"]) == {}
