"""Where source PDFs live: outside MEDIA_ROOT, under names derived from their content hash.

Page images are public (MEDIA_ROOT, served at /media/); the source files are not. They may be
anything an editor uploaded (a failed upload too), so they are never served by Django's media
view or by a web server pointed at MEDIA_ROOT: only staff download them, through
``reviews.staff_views.source_file`` (an attachment, ``application/pdf``, ``nosniff``). The
stored name is ``<first two hex digits>/<sha256>.pdf``: the uploader's file name (``.html``,
guessable ``<member>-claim-002.pdf``) never reaches the file system.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.urls import reverse


class SourceStorage(FileSystemStorage):
    """FileSystemStorage rooted at ``settings.SOURCES_ROOT`` (read on use, so tests may move it)."""

    @property
    def base_location(self):
        return str(Path(settings.SOURCES_ROOT))

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        # Never a public URL: the staff-only download view.
        return reverse("staff-source", args=[name])


_storage = SourceStorage()


def source_storage() -> SourceStorage:
    """The storage of ``Document.source`` (a callable, so migrations do not freeze a path)."""
    return _storage


def source_name(instance, filename: str) -> str:
    """``ab/ab12...ef.pdf`` from the document's sha256; the uploaded name is ignored."""
    sha = instance.sha256
    return f"{sha[:2]}/{sha}.pdf"
