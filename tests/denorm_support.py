"""Helpers shared by the denormalisation tests."""

from denorm import operations, registry
from lib.redis_client import get_redis
from reviews import signals
from reviews.models import Document
from tests import factories

# The entries kept current on commit (the picker's memcached pool is refilled by a beat task and
# may lag by design, so tests of on-commit upkeep leave it out).
MAINTAINED_ON_COMMIT = [
    "page-review-count", "page-tags", "reviewer-review-count", "document-page-count", "assignment-page-count",
    "assignment-progress", "document-pages", "member-pages", "party-pages", "reviewer-seen",
    "assignment-needed", "assignment-done", "assignment-todo",
]  # fmt: skip


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
