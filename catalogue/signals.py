"""Project signals, sent only after the transaction that caused them commits.

Denormalisations (reviews/denormalisations/, assignments/denormalisations/) listen to these
to update Redis and memcached; Postgres counters are updated inside the transaction itself.
"""

from django.dispatch import Signal

from lib import metrics

# kwargs: review_id, page_id, reviewer_id, review_count (the page's count after this review),
# completed_assignment_ids (assignments for which the page just reached the threshold),
# active_assignment_ids (the active assignments containing the page: the picker's reservations
# and to-do mirrors to touch, none other), holder (who held the page in the picker, when not the
# reviewer themselves: see assignments.picker.scripts.holder_for; may be None), tag_ids,
# assignment_id (the one the review was made in, or None), document_id (the page's), created
# (the review's time: the leaderboards' 48-hour buckets go by it), quarantined (the reviewer is
# quarantined: the review counts for nothing, only the reviewer's own "seen" set and
# reservation care); optionally tag_slugs (the tags' slugs, in the order of tag_ids) and owners
# ((member_id, party_id) of the document), which spare the receivers a query each; a receiver
# reads them from Postgres when they are absent.
review_recorded = Signal()
review_recorded.connect(metrics.count_review, dispatch_uid="crowd-metrics-reviews")  # crowd_reviews_total

# kwargs: page_id, reviewer_id, active_assignment_ids, holder (as for review_recorded)
page_skipped = Signal()
page_skipped.connect(metrics.count_skip, dispatch_uid="crowd-metrics-skips")  # crowd_skips_total

# kwargs: document_id, page_texts ({page number: (text layer, word boxes)} or None). Sent after an
# import committed a document's pages.
document_imported = Signal()

# Unlike the signals above, sent INSIDE the transaction that placed documents (created, moved to
# another member, imported): whether a document is public follows from the assignments that
# contain it, a rule of a higher layer (assignments.visibility). Its receiver
# (assignments.receivers) re-derives Document.public and Page.public in the same transaction, so
# the catalogue's actions need not import assignments (docs/architecture.md). kwargs: document_ids.
documents_placed = Signal()
