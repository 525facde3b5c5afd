"""Generate and import a demo release: `manage.py seed_demo [--pages N] [--if-empty]`."""

import io
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalogue.models import Document
from frontdesk import demo


class Command(BaseCommand):
    help = (
        "Generate a demo release (fictional MPs' claim forms, receipts and hand-written letters, "
        "some made to look scanned) and import it inline, with parties, members, tags and assignments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pages", type=int, default=120, help="about how many pages (default 120)")
        parser.add_argument("--seed", type=int, default=2009, help="random seed (same seed, same files)")
        parser.add_argument("--pdf-dir", type=Path, help="keep the generated PDFs in this folder")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when any document exists already"
        )

    def handle(self, *args, pages: int, seed: int, if_empty: bool, pdf_dir, verbosity: int, **options):
        if pages < 1 or pages > 100_000:
            raise CommandError("--pages must be between 1 and 100000")
        if if_empty and Document.objects.exists():
            self.stdout.write("documents exist already: demo release not loaded")
            return
        log = self.stdout.write if verbosity > 1 else None
        result = demo.seed_demo(pages=pages, seed=seed, pdf_dir=pdf_dir, log=log)
        # Assignments were created after their pages: bring every denormalised copy up to date.
        call_command("rebuild_denormalisations", stdout=self.stdout if verbosity > 1 else io.StringIO())
        self.stdout.write(
            f"demo release: {result.documents} documents, {result.pages} pages imported "
            f"({result.pages_per_second:.1f} pages/s), {result.failed} failed"
        )
        if result.failed:
            raise CommandError(f"{result.failed} demo document(s) failed to import")
