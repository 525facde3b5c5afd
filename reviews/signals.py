"""Project signals, sent only after the transaction that caused them commits.

Denormalisations (reviews/denormalisations.py, assignments/denormalisations.py) listen to these
to update Redis and memcached; Postgres counters are updated inside the transaction itself.
"""

from django.dispatch import Signal

# kwargs: review_id, page_id, reviewer_id, review_count (the page's count after this review),
# completed_assignment_ids (assignments for which the page just reached the threshold), tag_ids,
# assignment_id (the one the review was made in, or None), document_id (the page's), created
# (the review's time: the leaderboards' 48-hour buckets go by it), quarantined (the reviewer is
# quarantined: the review counts for nothing, only the reviewer's own "seen" set and
# reservation care); optionally tag_slugs (the tags' slugs, in the order of tag_ids) and owners
# ((member_id, party_id) of the document), which spare the receivers a query each; a receiver
# reads them from Postgres when they are absent.
review_recorded = Signal()

# kwargs: page_id, reviewer_id
page_skipped = Signal()

# kwargs: document_id, page_texts ({page number: (text layer, word boxes)} or None). Sent after an
# import committed a document's pages.
document_imported = Signal()
