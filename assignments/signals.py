"""Signals of the assignments layer, sent after commit."""

from django.dispatch import Signal

# kwargs: assignment_id, page_ids. Sent by ``assignments.actions.retire_pages`` once the pages'
# ``RetiredPage`` rows committed: they are done for that assignment (the Redis sets follow).
pages_retired = Signal()
