"""Every write of the reviews app, one module per subject; views, commands and tasks call these
and write nothing themselves.

- :mod:`reviews.actions.reviews`: ``submit_review``, ``skip_page``
- :mod:`reviews.actions.accounts`: ``create_anonymous_reviewer``, ``claim_account``,
  ``create_named_reviewer``
- :mod:`reviews.actions.discoveries`: ``create_discovery``, ``update_discovery``
- :mod:`reviews.actions.rotation`: ``set_page_rotation``

Names are ``verb_noun``, arguments keyword-only, each action atomic. The catalogue's writes
(documents, their import, parties, members, tags) are in ``catalogue.actions``, assignment writes
in ``assignments.actions``; the editor account's in ``lib.actions``.
"""

from reviews.actions.accounts import claim_account, create_anonymous_reviewer, create_named_reviewer
from reviews.actions.discoveries import create_discovery, update_discovery
from reviews.actions.reviews import (
    MAX_TAGS_PER_REVIEW,
    ReviewError,
    ReviewOutcome,
    skip_page,
    submit_review,
)

__all__ = [
    "MAX_TAGS_PER_REVIEW",
    "ReviewError",
    "ReviewOutcome",
    "claim_account",
    "create_anonymous_reviewer",
    "create_named_reviewer",
    "create_discovery",
    "skip_page",
    "submit_review",
    "update_discovery",
]
