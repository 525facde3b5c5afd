"""`manage.py check_denormalisations [NAME...]`: compare copies with Postgres."""

import redis
from django.core.management.base import BaseCommand, CommandError

from denorm import operations, registry


class Command(BaseCommand):
    help = (
        "Compare all (or the named) registered denormalisations with Postgres and print, per entry, "
        "ok or the drift (missing, extra, wrong, with examples). Exits non-zero when any drifted."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME")

    def handle(self, *args, names, **options):
        try:
            entries = registry.select(names)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        drifted = []
        for entry in entries:
            try:
                [(_, drift)] = operations.check_entries([entry])
            except redis.RedisError as exc:
                self.stdout.write(f"{entry.name}: cannot check, Redis is unavailable ({exc})")
                drifted.append(entry.name)
                continue
            self.stdout.write(f"{entry.name}: {drift}")
            if not drift.ok:
                drifted.append(entry.name)
        if drifted:
            raise CommandError(
                f"not ok: {', '.join(drifted)}; repair with: manage.py rebuild_denormalisations "
                + " ".join(drifted)
            )
