"""Helpers shared by the denormalisation tests."""

from catalogue import signals
from catalogue.models import Document
from denorm import operations, registry
from lib.redis_client import get_redis
from tests import factories


def maintained_on_commit() -> list[str]:
    """Every registered entry kept current on commit: all of them except those the registry
    declares refilled by a beat task (``kept_current_on_commit=False``, the picker's memcached
    pool, which may lag by design)."""
    return [e.name for e in registry.all_entries() if e.kept_current_on_commit]


def drift(names=None) -> dict[str, str]:
    """Entry name -> drift, for the named entries (all when None) that disagree with Postgres."""
    return {e.name: str(d) for e, d in operations.check_entries(registry.select(names)) if not d.ok}


def members(key: str) -> set[int]:
    return {int(m) for m in get_redis().smembers(key)}


def imported(member=None, pages: int = 3):
    """A document whose pages arrive the way the importer delivers them: rows, then the signal."""
    doc = factories.make_document(member=member, pages=pages)
    signals.document_imported.send(sender=Document, document_id=doc.pk)
    return doc
