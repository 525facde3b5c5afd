from django.dispatch import Signal

# kwargs: page_ids. Sent after commit when pages' text changed (text layer stored, OCR done):
# the cached copies of those pages' views are stale (search.receivers bumps their generations).
page_text_changed = Signal()
