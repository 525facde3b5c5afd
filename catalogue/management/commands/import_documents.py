"""Import PDFs (files or folders) as documents and pages: `manage.py import_documents PATH...`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogue import importer
from catalogue.actions import documents as actions
from catalogue.models import Document, Member, Party
from catalogue.pdf import ImportFailure


class Command(BaseCommand):
    help = (
        "Import PDF files (or every *.pdf under the given folders) as documents and pages. "
        "Queues one Celery task per document; --sync imports inline. Exits non-zero when a file failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--member", metavar="SLUG", help="the member whose papers these are")
        parser.add_argument(
            "--party", metavar="SLUG", help="the member's party (sets it on the member when given)"
        )
        parser.add_argument("--sync", action="store_true", help="import inline instead of through Celery")

    def handle(self, *args, paths, member, party, sync, **options):
        member_obj = self._member(member, party)
        files = self._files(paths)
        failed = 0
        for path in files:
            line, ok = self._import_one(path, member_obj, sync)
            failed += not ok
            self.stdout.write(f"{path}: {line}")
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) failed")

    def _member(self, member_slug: str | None, party_slug: str | None) -> Member | None:
        party = None
        if party_slug:
            party = Party.objects.filter(slug=party_slug).first()
            if party is None:
                raise CommandError(f"unknown party {party_slug!r} (create it in the admin first)")
        if not member_slug:
            if party is not None:
                raise CommandError("--party needs --member: documents belong to members")
            return None
        member = Member.objects.filter(slug=member_slug).first()
        if member is None:
            raise CommandError(f"unknown member {member_slug!r} (create it in the admin first)")
        if party is not None and member.party_id != party.pk:
            raise CommandError(f"member {member_slug!r} is not in party {party_slug!r}")
        return member

    def _files(self, paths: list[str]) -> list[Path]:
        files: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"no such file or folder: {raw}")
        if not files:
            raise CommandError("no PDF files found")
        return files

    def _import_one(self, path: Path, member: Member | None, sync: bool) -> tuple[str, bool]:
        try:
            queued = actions.create_document_from_path(path=path, member=member, queue=not sync)
        except ImportFailure as exc:  # not a .pdf: nothing stored
            return f"failed: {exc}", False
        document = queued.document
        if not queued.created:
            if document.status == Document.Status.IMPORTED:
                return f"already imported (document {document.pk}, {document.page_count} pages)", True
            if document.status == Document.Status.FAILED or sync:
                # Same bytes as a document that did not import: try again (a bad file fails again).
                actions.reimport_document(document_id=document.pk, queue=not sync)
            elif not sync:
                return f"already queued (document {document.pk})", True
        if not sync:
            return f"queued (document {document.pk})", True
        result = importer.import_document(document.pk)
        if result.status == "imported":
            return f"imported {result.page_count} pages (document {document.pk})", True
        if result.status == "already_imported":
            return f"already imported (document {document.pk}, {result.page_count} pages)", True
        if result.status == "busy":
            return f"being imported by a worker right now (document {document.pk})", True
        return f"failed: {result.error}", False
