"""`manage.py rebuild_denormalisations [NAME...] [--list]`: rebuild copies from Postgres."""

from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from denorm import operations, registry


class Command(BaseCommand):
    help = (
        "Rebuild all (or the named) registered denormalisations from Postgres. Safe while the site "
        "serves: sets are built beside the live ones and swapped in; counters are recounted in "
        "short locked chunks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME")
        parser.add_argument(
            "--list", action="store_true", dest="list_names", help="print the registered names and exit"
        )

    def handle(self, *args: Any, names: Any, list_names: Any, **options: Any) -> None:
        if list_names:
            for entry in registry.all_entries():
                self.stdout.write(f"{entry.name}\t{entry.store}\t{entry.lives_in.replace('`', '')}")
            return
        try:
            entries = registry.select(names)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        try:
            for group, seconds in operations.rebuild_entries(entries):
                self.stdout.write(f"{group}: rebuilt in {seconds:.2f}s")
        except redis.RedisError as exc:
            raise CommandError(
                f"Redis is unavailable ({exc}); nothing after the last line was rebuilt"
            ) from None
