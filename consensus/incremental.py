"""Incremental exports (``?since=``) from the change sequence (``consensus.models.PublicRow``).

A cursor is a place in the sequence. ``?since=<cursor>`` sends, in sequence order, every row
that changed after it: the row as it is now when it is still in the export (and passes the
reader's filters), else a tombstone (``deleted``). Applying them in order, as upserts keyed by
``page_id`` + ``tag`` and deletions, leaves a reader with exactly what a full export would give
at the new cursor. The high-water mark is read first: a change that takes its place while the
export streams waits for the next one. Seqs become visible in order (one writer at a time, see
``consensus.actions.sync_public_rows``), so no change can appear behind a cursor handed out.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max

from catalogue.models import Page
from consensus.models import PublicRow

BATCH = 500


def high_water_mark() -> int:
    return PublicRow.objects.aggregate(m=Max("seq"))["m"] or 0


def _passes(row: PublicRow, filters) -> bool:
    if filters.min_reviews is not None and row.reviews < filters.min_reviews:
        return False
    if filters.min_agreement is not None and filters.min_agreement > 0:
        share = filters.min_agreement
        if row.count * share.denominator < row.reviews * share.numerator:
            return False
    wanted = filters.min_confidence
    return not (wanted and (row.confidence is None or row.confidence < wanted / 1_000_000))


def changed_records(*, since: int, high: int, tag_id: int | None, filters, page_fields) -> Iterator[dict]:
    """The records of the rows that changed in ``(since, high]``, in sequence order: current
    values (with ``page_fields(page)``) or ``{"page_id", "tag", "deleted": True}``."""
    qs = PublicRow.objects.filter(seq__gt=since, seq__lte=high).order_by("seq")
    if tag_id is not None:
        qs = qs.filter(tag_id=tag_id)
    batch: list[PublicRow] = []

    def flush(rows: list[PublicRow]) -> Iterator[dict]:
        pages = Page.objects.select_related("document__member__party").in_bulk(
            {r.page_id for r in rows if r.public}
        )
        for row in rows:
            page = pages.get(row.page_id)
            if not row.public or page is None or not _passes(row, filters):
                yield {"page_id": row.page_id, "tag": row.tag, "deleted": True}
                continue
            yield {
                **page_fields(page),
                "tag": row.tag,
                "count": row.count,
                "reviews": row.reviews,
                "agreement": round(row.count / row.reviews, 4) if row.reviews else 0.0,
                "confidence": row.confidence,
                "first_tagged_at": row.first_tagged_at.isoformat() if row.first_tagged_at else None,
                "deleted": False,
            }

    for row in qs.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) >= BATCH:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)
