"""seed_demo: a usable demo release, imported through the real pipeline."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from assignments.models import Assignment
from catalogue.models import Document, Member, Page, Party, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_produces_a_usable_release():
    out = seed("--pages", "14")

    assert "14 pages imported" in out and "0 failed" in out
    documents = list(Document.objects.all())
    assert len(documents) >= 3
    assert {d.status for d in documents} == {Document.Status.IMPORTED}
    assert Page.objects.count() == 14 == sum(d.page_count for d in documents)
    for page in Page.objects.all():
        assert page.width == 1400 and page.height > 0
        assert default_storage.exists(page.image.name) and default_storage.exists(page.thumbnail.name)
    assert all(d.member_id for d in documents)
    assert Party.objects.count() >= 3 and Member.objects.filter(party__isnull=False).count() >= 6

    keys = dict(Tag.objects.filter(active=True).values_list("slug", "key"))
    assert keys == {
        "receipt": "r",
        "claim-form": "c",
        "hand-written": "h",
        "food": "f",
        "travel": "t",
        "second-home": "o",  # S is the review screen's skip key
        "investigate-this": "i",
    }
    assert list(Tag.objects.filter(highlights=True).values_list("slug", flat=True)) == ["investigate-this"]

    main = Assignment.objects.get(featured=Assignment.Featured.MAIN)
    alternatives = Assignment.objects.filter(featured=Assignment.Featured.ALTERNATIVE)
    assert alternatives.count() == 2
    for assignment in [main, *alternatives]:
        assert assignment.active and assignment.threshold >= 1
    assert main.pages().exists()
    # The assignments' denormalised page counts were rebuilt after the pages were imported.
    for assignment in [main, *alternatives]:
        assert assignment.page_count == assignment.pages().count()
    assert main.page_count > 0
    assert main.threshold >= 2  # the main assignment is checked twice


def test_if_empty_does_nothing_when_documents_exist():
    seed("--pages", "3")
    before = set(Document.objects.values_list("pk", flat=True))
    out = seed("--if-empty", "--pages", "30")
    assert "not loaded" in out
    assert set(Document.objects.values_list("pk", flat=True)) == before
    assert Page.objects.count() == 3


def test_seeding_twice_with_the_same_seed_finds_the_same_files():
    seed("--pages", "5")
    seed("--pages", "5")
    assert Page.objects.count() == 5
    assert Assignment.objects.filter(featured=Assignment.Featured.MAIN).count() == 1


def test_it_refuses_a_nonsense_page_count():
    with pytest.raises(CommandError, match="--pages"):
        seed("--pages", "0")
    assert not Document.objects.exists()
