"""The editor admin: staff only, usable lists, and document upload that queues a real import."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assignments.models import Assignment
from catalogue import actions as catalogue_actions
from catalogue import importer, signals
from catalogue.models import Document, Page
from tests import factories
from tests.catalogue.pdf_samples import bad_files, pdf_bytes

ADMIN_PAGES = [
    "admin:index",
    "admin:catalogue_document_changelist",
    "admin:catalogue_document_add",
    "admin:catalogue_page_changelist",
    "admin:catalogue_tag_changelist",
    "admin:catalogue_member_changelist",
    "admin:catalogue_party_changelist",
    "admin:reviews_review_changelist",
    "admin:reviews_discovery_changelist",
    "admin:assignments_assignment_changelist",
    "admin:assignments_assignment_add",
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_logged_in_reviewers_who_are_not_staff_get_no_admin_page(client, reviewer, name):
    client.force_login(reviewer)
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_non_staff_cannot_upload_a_document(client, reviewer):
    client.force_login(reviewer)
    client.post(reverse("admin:catalogue_document_add"), {"upload": upload("a.pdf", pdf_bytes(1))})
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_every_admin_page_works_for_an_editor_with_data(client, editor, tags, tmp_path):
    party = factories.make_party()
    member = factories.make_member(party)
    document = catalogue_actions.create_document_from_path(
        path=_write(tmp_path / "claims.pdf", pdf_bytes(2)), member=member, queue=False
    ).document
    importer.import_document(document.pk)
    page = document.pages.get(number=1)
    factories.make_assignment(members=[member], featured=Assignment.Featured.MAIN)
    client.force_login(editor)

    for name in ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    for url in [
        reverse("admin:catalogue_document_change", args=[document.pk]),
        reverse("admin:catalogue_page_change", args=[page.pk]),
        reverse("admin:catalogue_document_changelist") + "?q=" + member.name,
        reverse("admin:catalogue_page_changelist") + f"?document__id__exact={document.pk}",
    ]:
        assert client.get(url).status_code == 200, url
    changelist = client.get(reverse("admin:catalogue_document_changelist")).content.decode()
    assert page.thumbnail.url in changelist  # the cover thumbnail
    change = client.get(reverse("admin:catalogue_document_change", args=[document.pk])).content.decode()
    assert all(p.thumbnail.url in change for p in document.pages.all())  # the page inline


@pytest.mark.django_db
def test_the_assignment_list_shows_page_and_completed_counts_read_only(client, editor):
    assignment = factories.make_assignment()
    Assignment.objects.filter(pk=assignment.pk).update(page_count=40, completed_count=10)
    client.force_login(editor)
    html = client.get(reverse("admin:assignments_assignment_change", args=[assignment.pk])).content.decode()
    assert "40" in html and "10" in html
    assert 'name="page_count"' not in html and 'name="completed_count"' not in html


@pytest.mark.django_db
def test_the_make_main_action_moves_the_main_feature(client, editor):
    old = factories.make_assignment(featured=Assignment.Featured.MAIN)
    new = factories.make_assignment()
    client.force_login(editor)
    client.post(
        reverse("admin:assignments_assignment_changelist"),
        {"action": "make_main", "_selected_action": [new.pk]},
    )
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.featured, new.featured) == (Assignment.Featured.ALTERNATIVE, Assignment.Featured.MAIN)


@pytest.mark.django_db
def test_reviews_are_read_only_in_the_admin(client, editor, reviewer):
    from reviews.actions import submit_review

    document = factories.make_document(pages=1)
    review = submit_review(only_open_pages=False, reviewer=reviewer, page_id=document.pages.get().pk).review
    client.force_login(editor)
    assert client.get(reverse("admin:reviews_review_change", args=[review.pk])).status_code == 200
    assert client.get(reverse("admin:reviews_review_delete", args=[review.pk])).status_code == 403
    assert client.get(reverse("admin:reviews_review_add")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(bad_files()))
def test_a_bad_upload_is_refused_with_the_reason_and_changes_nothing(client, editor, media_root, name):
    data, phrase = bad_files()[name]
    client.force_login(editor)
    response = client.post(reverse("admin:catalogue_document_add"), {"upload": upload(name, data)})
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["upload"])
    # An empty upload is refused by Django's own FileField ("The submitted file is empty.").
    assert phrase.lower() in errors.lower()
    assert not Document.objects.exists()
    assert not (media_root / "sources").exists()


@pytest.mark.django_db
def test_an_upload_over_the_size_limit_is_refused(client, editor, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    client.force_login(editor)
    response = client.post(
        reverse("admin:catalogue_document_add"), {"upload": upload("big.pdf", pdf_bytes(20))}
    )
    assert response.status_code == 200
    assert "the limit is 1.0" in str(response.context["adminform"].form.errors["upload"])
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_uploading_a_file_already_imported_is_refused(client, editor, tmp_path):
    data = pdf_bytes(1)
    catalogue_actions.create_document_from_path(path=_write(tmp_path / "a.pdf", data), queue=False)
    client.force_login(editor)
    response = client.post(reverse("admin:catalogue_document_add"), {"upload": upload("again.pdf", data)})
    assert "uploaded already" in str(response.context["adminform"].form.errors["upload"])
    assert Document.objects.count() == 1


@pytest.mark.django_db
def test_the_reimport_action_requeues_failed_documents(
    client, editor, tmp_path, django_capture_on_commit_callbacks
):
    bad = catalogue_actions.create_document_from_path(
        path=_write(tmp_path / "bad.pdf", b"junk"), queue=False
    ).document
    importer.import_document(bad.pk)
    client.force_login(editor)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("admin:catalogue_document_changelist"),
            {"action": "reimport", "_selected_action": [bad.pk]},
        )
    bad.refresh_from_db()
    assert bad.status == Document.Status.PENDING
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_an_admin_upload_is_imported_by_a_real_celery_worker(client, editor, settings):
    """End to end: the upload commits, the task goes through the real Redis broker, and a Celery
    worker (in a thread of this process, with its own database connection) imports the pages."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    client.force_login(editor)
    member = factories.make_member()
    importing_threads = []

    def receiver(sender, document_id, **kwargs):
        importing_threads.append(threading.current_thread())

    signals.document_imported.connect(receiver)
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=20):
        response = client.post(
            reverse("admin:catalogue_document_add"),
            {"upload": upload("claims-2008.pdf", pdf_bytes(3)), "title": "", "member": member.pk},
        )
        assert response.status_code == 302
        document = Document.objects.get()
        assert document.title == "claims 2008"
        assert document.member == member
        # Wait for the worker (a deadline, not a timing assertion).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            document.refresh_from_db()
            if document.status in (Document.Status.IMPORTED, Document.Status.FAILED):
                break
            time.sleep(0.1)
    signals.document_imported.disconnect(receiver)
    assert document.status == Document.Status.IMPORTED, document.error
    assert Page.objects.filter(document=document).count() == 3
    # Imported by the worker's thread, not inline by the request.
    assert importing_threads and threading.main_thread() not in importing_threads


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.django_db
def test_deleting_a_document_in_the_admin_removes_its_pages_and_files(
    client, editor, tmp_path, media_root, django_capture_on_commit_callbacks
):
    document = catalogue_actions.create_document_from_path(
        path=_write(tmp_path / "a.pdf", pdf_bytes(2)), queue=False
    ).document
    importer.import_document(document.pk)
    files = [p.image.path for p in document.pages.all()] + [document.source.path]
    assert all(Path(f).exists() for f in files)
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:catalogue_document_delete", args=[document.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Document.objects.exists() and not Page.objects.exists()
    assert not any(Path(f).exists() for f in files)
