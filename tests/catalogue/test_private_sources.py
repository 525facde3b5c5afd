"""Source PDFs are private: stored outside MEDIA_ROOT under their content hash, never served
from /media/, downloadable by staff only; uploads must be .pdf files starting with %PDF-."""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.urls import reverse

from catalogue import actions as catalogue_actions
from catalogue import importer
from catalogue.models import Document
from catalogue.pdf import ImportFailure, check_pdf_bytes, check_pdf_filename
from tests.catalogue.pdf_samples import pdf_bytes

BASE_DIR = Path(__file__).resolve().parents[2]
POLYGLOT = b"<html><script>alert(document.cookie)</script>\n" + pdf_bytes(1)


@pytest.fixture(autouse=True)
def roots(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SOURCES_ROOT = tmp_path / "sources"
    return settings.MEDIA_ROOT, settings.SOURCES_ROOT


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.django_db
def test_an_imported_source_is_stored_outside_media_under_its_hash(roots, tmp_path):
    media, sources = roots
    data = pdf_bytes(2)
    path = _write(tmp_path / "jones-claim-002.pdf", data)
    document = catalogue_actions.create_document_from_path(path=path, queue=False).document
    assert importer.import_document(document.pk).status == "imported"

    sha = hashlib.sha256(data).hexdigest()
    assert document.source.name == f"{sha[:2]}/{sha}.pdf"
    assert (sources / sha[:2] / f"{sha}.pdf").read_bytes() == data
    # Page images are public; no source file (by any name) is under MEDIA_ROOT.
    assert list(media.rglob("*.pdf")) == []
    assert not any("claim" in p.name for p in media.rglob("*"))


@pytest.mark.django_db
def test_no_media_url_serves_a_source_file(roots, tmp_path):
    client = Client(raise_request_exception=False)
    data = pdf_bytes(1)
    document = catalogue_actions.create_document_from_path(
        path=_write(tmp_path / "x.pdf", data), queue=False
    ).document
    for url in (
        f"/media/{document.source.name}",
        f"/media/sources/{document.source.name}",
        f"/media/../sources/{document.source.name}",
        "/media/sources/x.pdf",
    ):
        assert client.get(url).status_code in (400, 404), url
    # The field's URL is the staff-only download, not a media URL.
    assert document.source.url.startswith("/staff/sources/")


@pytest.mark.django_db
def test_staff_download_the_source_as_an_attachment_others_get_nothing(client, editor, reviewer, tmp_path):
    data = pdf_bytes(1)
    document = catalogue_actions.create_document_from_path(
        path=_write(tmp_path / "x.pdf", data), queue=False
    ).document
    url = document.source.url

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    client.force_login(editor)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get("/staff/sources/../secret_key").status_code == 404


@pytest.mark.django_db
def test_an_html_named_upload_is_refused_and_stores_nothing(client, editor, roots):
    media, sources = roots
    client.force_login(editor)
    for name, data in (("evil.html", pdf_bytes(1)), ("evil.pdf", POLYGLOT), ("evil.html", POLYGLOT)):
        upload = SimpleUploadedFile(name, data, content_type="application/pdf")
        response = client.post(reverse("admin:catalogue_document_add"), {"upload": upload})
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["upload"], name
    assert not Document.objects.exists()
    assert not sources.exists() or not any(sources.rglob("*.*"))
    assert not media.exists() or not any(media.rglob("*.*"))


def test_the_pdf_checks_refuse_other_extensions_and_a_prefix_before_the_magic_bytes():
    check_pdf_filename("Claims 2008.PDF")
    for name in ("evil.html", "evil.pdf.html", "evil", "evil.svg"):
        with pytest.raises(ImportFailure, match="must end in .pdf"):
            check_pdf_filename(name)
    with pytest.raises(ImportFailure, match="does not start with a %PDF- header"):
        check_pdf_bytes(POLYGLOT[:1024], POLYGLOT[-1024:], len(POLYGLOT))


@pytest.mark.django_db
def test_the_importer_action_refuses_a_non_pdf_name(tmp_path):
    with pytest.raises(ImportFailure):
        catalogue_actions.create_document_from_path(
            path=_write(tmp_path / "page.html", pdf_bytes(1)), queue=False
        )
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_the_migration_moves_public_sources_into_private_storage(roots, settings):
    media, sources = roots
    data = pdf_bytes(1)
    sha = hashlib.sha256(data).hexdigest()
    old = "sources/2026/12/jones-claim-002.pdf"
    (media / old).parent.mkdir(parents=True)
    (media / old).write_bytes(data)
    document = Document.objects.create(title="t", source=old, sha256=sha)

    migration = importlib.import_module("reviews.migrations.0002_private_sources")
    # The models as that migration knew them (Document was the reviews app's then, issue 23).
    state = MigrationLoader(connection).project_state(("reviews", "0002_private_sources"))
    migration.move_sources(state.apps, None)

    document.refresh_from_db()
    assert document.source.name == f"{sha[:2]}/{sha}.pdf"
    assert (sources / document.source.name).read_bytes() == data
    assert not (media / old).exists()


def test_production_compose_keeps_sources_off_the_media_volume():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    for name in ("web", "worker"):
        service = compose["services"][name]
        env = service["environment"]
        media, sources = env["MEDIA_ROOT"], env["SOURCES_ROOT"]
        assert not sources.startswith(media.rstrip("/") + "/") and sources != media
        mounts = dict(v.split(":")[:2][::-1] for v in service["volumes"])
        assert mounts[sources] != mounts[media]  # a separate volume, not a folder of media
    # No web server configuration in the repository serves the source folder.
    for conf in BASE_DIR.glob("**/nginx*.conf"):
        if ".venv" not in conf.parts:
            assert not re.search(r"/data/sources|sources_root", conf.read_text()), conf
