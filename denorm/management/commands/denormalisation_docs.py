"""`manage.py denormalisation_docs [--check]`: write docs/denormalisations.md from the registry."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from denorm import docs


class Command(BaseCommand):
    help = "Generate docs/denormalisations.md from the registry; --check fails if it is out of date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="write nothing; exit non-zero if the file differs"
        )

    def handle(self, *args: Any, check: Any, **options: Any) -> None:
        path = docs.docs_path()
        text = docs.render_docs()
        current = path.read_text() if path.exists() else None
        if check:
            if current != text:
                raise CommandError(f"{path} is out of date: run manage.py denormalisation_docs")
            self.stdout.write(f"{path} is up to date")
            return
        if current != text:
            path.write_text(text)
        self.stdout.write(f"wrote {path}")
