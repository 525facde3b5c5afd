"""Staff-only pages of the reviews app: downloading a document's source PDF.

Source files are private (see ``catalogue.storage``): this view is the only way to them, for staff
who may view documents, as a download (never rendered inline by the browser).
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404

from catalogue.models import Document
from catalogue.storage import source_storage
from lib.web import allow_methods, forbidden, staff_required


@allow_methods("GET", "HEAD")
@staff_required
def source_file(request, name: str):
    if not request.user.has_perm("catalogue.view_document"):
        return forbidden(request, "You may not view documents.")
    document = Document.objects.filter(source=name).only("pk", "sha256").first()
    if document is None:
        raise Http404("No such source file")
    storage = source_storage()
    try:
        handle = storage.open(name, "rb")
    except (FileNotFoundError, SuspiciousFileOperation):
        raise Http404("The source file is missing") from None
    response = FileResponse(
        handle, as_attachment=True, filename=f"document-{document.pk}.pdf", content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
