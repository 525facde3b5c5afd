"""The denormalisation registry: every copy of data that is not the source of truth.

Each app declares its entries in its own ``denormalisations.py`` (autodiscovered in
``denorm.apps.DenormConfig.ready``, the way ``admin.py`` is). An entry says what it is derived
from, where it lives, what keeps it current, and how to rebuild and check it from Postgres.
``manage.py rebuild_denormalisations``, ``manage.py check_denormalisations``, the periodic
check-and-repair task, ``/staff/denormalisations/`` and ``docs/denormalisations.md`` are all
loops over this registry (see :mod:`denorm.operations` and :mod:`denorm.docs`). How copies are
kept current after a write is :mod:`denorm.changes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: denorm.changes imports this module when applying changes
    from denorm.changes import Changes


@dataclass
class Drift:
    """What ``check`` found. Zero everywhere means the copy agrees with Postgres."""

    missing: int = 0  # in Postgres, absent from the copy
    extra: int = 0  # in the copy, absent from Postgres (the Guardian's deleted pages)
    wrong: int = 0  # present in both, with a different value (counts)
    # Stale items of a copy that lags by design, within its stated bound (``Denormalisation.
    # lag_seconds``): reported, not drift, so a healthy site's check passes.
    lagging: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.wrong)

    def add_example(self, text: str, limit: int = 5) -> None:
        if len(self.examples) < limit:
            self.examples.append(text)

    def merge(self, other: Drift) -> Drift:
        self.missing += other.missing
        self.extra += other.extra
        self.wrong += other.wrong
        self.lagging += other.lagging
        for example in other.examples:
            self.add_example(example)
        return self

    def __str__(self) -> str:
        if self.ok:
            return f"ok ({self.lagging} lagging within the bound)" if self.lagging else "ok"
        text = f"missing {self.missing}, extra {self.extra}, wrong {self.wrong}"
        return f"{text} (e.g. {'; '.join(self.examples)})" if self.examples else text


class Store:
    REDIS = "redis"
    POSTGRES = "postgres"
    MEMCACHED = "memcached"


@dataclass(frozen=True)
class Denormalisation:
    name: str  # short, stable, kebab-case: used on the command line
    description: str  # one paragraph
    derived_from: str  # the Postgres source of truth
    lives_in: str  # Redis key pattern, table.column or memcached key
    kept_current_by: str  # which actions, signals and tasks update it
    rebuild: Callable[[], None]
    check: Callable[[], Drift]
    # Lower rebuilds first: an entry that reads another copy (the to-do set reads the needed and
    # done sets) must come after it.
    order: int = 100
    store: str = Store.POSTGRES
    # Re-derives the parts named by a Changes after commit. Entries may share one function (and
    # one ``rebuild``): it then runs once.
    refresh: Callable[[Changes], None] | None = None
    # Compares with Postgres and repairs in the same pass, touching only what differs (member by
    # member in Redis, a recount of the drifted rows in Postgres); returns the drift it found.
    # Safe while the site serves. Without one, the periodic check repairs a drifted entry with
    # its ``rebuild``.
    repair: Callable[[], Drift] | None = None
    # False for copies that a beat task refills and that may lag by design (the picker's
    # memcached pool): tests of on-commit upkeep derive their lists from this flag.
    kept_current_on_commit: bool = True
    # For copies that lag by design: how stale they may be (seconds) and what repairs them. Their
    # check reports stale items within the bound as ``Drift.lagging`` and only older ones as drift.
    lag_seconds: int | None = None
    repaired_by: str = ""

    @property
    def has_marker(self) -> bool:
        """Redis families carry a built marker: its absence means Redis lost them."""
        return self.store == Store.REDIS


_registry: dict[str, Denormalisation] = {}


def register(entry: Denormalisation) -> Denormalisation:
    if entry.name in _registry and _registry[entry.name] is not entry:
        raise ValueError(f"denormalisation {entry.name!r} is registered twice")
    _registry[entry.name] = entry
    return entry


def all_entries() -> list[Denormalisation]:
    return sorted(_registry.values(), key=lambda e: (e.order, e.name))


def get(name: str) -> Denormalisation:
    try:
        return _registry[name]
    except KeyError:
        raise KeyError(f"unknown denormalisation {name!r}; known: {', '.join(sorted(_registry))}") from None


def select(names: list[str] | None) -> list[Denormalisation]:
    """The named entries in rebuild order (all when ``names`` is empty)."""
    if not names:
        return all_entries()
    wanted = {get(n).name for n in names}
    return [e for e in all_entries() if e.name in wanted]
