"""The catalogue left the reviews app (issue 23) without touching a table: its models moved in the
migration state only, and their content types (permissions, admin log entries) followed them."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from catalogue.models import Document, Member, Page, Party, Tag

# The migrations of the move: the catalogue's state, every app's foreign keys, the reviews app's
# state without the models.
STATE_ONLY = [
    ("catalogue", "0001_initial"),
    ("assignments", "0008_catalogue_models"),
    ("consensus", "0003_catalogue_models"),
    ("contributors", "0002_catalogue_models"),
    ("moderation", "0004_catalogue_models"),
    ("search", "0002_catalogue_models"),
    ("reviews", "0013_catalogue_moved_out"),
]

move_content_types = importlib.import_module("catalogue.migrations.0002_move_content_types")
EDITOR = SimpleNamespace(connection=connection)


@pytest.fixture(autouse=True)
def fresh_content_type_cache():
    yield
    ContentType.objects.clear_cache()  # the rows change under the manager's cache here


def test_the_models_kept_the_reviews_apps_tables():
    assert [m._meta.db_table for m in (Party, Member, Document, Page, Tag)] == [
        "reviews_party",
        "reviews_member",
        "reviews_document",
        "reviews_page",
        "reviews_tag",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("key", STATE_ONLY, ids=lambda key: ".".join(key))
def test_the_move_writes_no_sql(key):
    """``sqlmigrate`` of each migration of the move is empty: nothing created, dropped, renamed or
    altered (the many-to-many tables included)."""
    loader = MigrationLoader(connection)
    statements = loader.collect_sql([(loader.graph.nodes[key], False)])
    assert [s for s in statements if not s.startswith("--")] == []


@pytest.mark.django_db
def test_content_types_move_to_the_catalogue_and_back_keeping_their_ids():
    page = ContentType.objects.get(app_label="catalogue", model="page")
    reviews = ContentType.objects.get(app_label="reviews", model="review")

    move_content_types.backwards(apps, EDITOR)
    assert ContentType.objects.get(pk=page.pk).app_label == "reviews"
    assert ContentType.objects.get(pk=reviews.pk).app_label == "reviews"

    move_content_types.forwards(apps, EDITOR)
    assert ContentType.objects.get(pk=page.pk).app_label == "catalogue"
    assert Permission.objects.get(codename="change_page").content_type_id == page.pk


@pytest.mark.django_db
def test_the_old_content_type_wins_when_both_labels_exist():
    """``post_migrate`` may have made catalogue rows already: the reviews app's row, which
    permissions and log entries point to, is the one kept."""
    old = ContentType.objects.get(app_label="catalogue", model="tag")
    move_content_types.backwards(apps, EDITOR)
    fresh = ContentType.objects.create(app_label="catalogue", model="tag")

    move_content_types.forwards(apps, EDITOR)
    assert ContentType.objects.get(app_label="catalogue", model="tag").pk == old.pk
    assert not ContentType.objects.filter(pk=fresh.pk).exists()
