"""`manage.py check_denormalisations [NAME...]`: compare copies with Postgres."""

from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from denorm import operations, registry


class Command(BaseCommand):
    help = (
        "Compare all (or the named) registered denormalisations with Postgres and print, per entry, "
        "ok, lagging (a copy that lags by design, within its stated bound) or the drift (missing, "
        "extra, wrong, with examples). Exits non-zero when any drifted (lagging past its bound)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME")

    def handle(self, *args: Any, names: Any, **options: Any) -> None:
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
            self.stdout.write(f"{entry.name}: {describe(entry, drift)}")
            if not drift.ok:
                drifted.append(entry.name)
        if drifted:
            raise CommandError(
                f"not ok: {', '.join(drifted)}; repair with: manage.py rebuild_denormalisations "
                + " ".join(drifted)
            )


def describe(entry: registry.Denormalisation, drift: registry.Drift) -> str:
    """One line per entry. A copy that lags by design (the picker's memcached pool) and is stale
    only within its bound says so instead of "drift": a check that fails in normal operation
    teaches operators to ignore it."""
    if drift.ok and drift.lagging and entry.lag_seconds is not None:
        return (
            f"lagging ({drift.lagging} stale, within {entry.lag_seconds} s, repaired by {entry.repaired_by})"
        )
    if not drift.ok and entry.lag_seconds is not None:
        return f"{drift}; past its bound of {entry.lag_seconds} s"
    return str(drift)
