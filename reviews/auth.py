"""Session authentication that loads the signed-in user together with their Reviewer row.

Every request of a signed-in reviewer loads the user, and the review screen and the submit then
need the Reviewer row (their count, quarantine, whether the account is an unclaimed
``anon-<n>``): one query with a join instead of two. The row is loaded afresh with the user at
each request, as the user is: it is the row as the request began. A request that then changes
it (a review adds to the count) calls :func:`forget_loaded_reviewer`, and the selectors read it
again.

``settings.AUTHENTICATION_BACKENDS`` lists :class:`ReviewerBackend` first, so logins name it in
the session, and Django's ``ModelBackend`` after it: sessions logged in before name that one,
and Django only accepts a session whose backend is listed (they keep working, at two queries).
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from lib import rows
from reviews.models import Reviewer

BACKEND = "reviews.auth.ReviewerBackend"

# Marks a user loaded by ReviewerBackend.get_user, whose Reviewer row came with it.
_LOADED = "_crowd_reviewer_loaded"
NOT_LOADED = object()


class ReviewerBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            # Stop here: the ModelBackend listed after this one (for old sessions) would check,
            # and hash, the same password a second time. The outcome is the same: no user, and
            # one user_login_failed signal.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        user_model = get_user_model()
        row = rows.fetch_one(_user_sql(), [user_id])
        if row is None:
            return None
        user = rows.instance(user_model, row)
        reviewer_pk = row[rows.width(user_model)]
        reviewer = None if reviewer_pk is None else rows.instance(Reviewer, row, rows.width(user_model))
        # As select_related("reviewer") leaves them: user.reviewer costs no query (and raises
        # RelatedObjectDoesNotExist without a row), reviewer.user is this user.
        user_model.reviewer.related.set_cached_value(user, reviewer)
        if reviewer is not None:
            Reviewer.user.field.set_cached_value(reviewer, user)
        setattr(user, _LOADED, True)
        return user if self.user_can_authenticate(user) else None


@cache
def _user_sql() -> str:
    """The user with their Reviewer row. Raw SQL (lib.rows): compiling the equivalent
    ``select_related("reviewer")`` query cost three times its round trip, on every request."""
    user_model = get_user_model()
    pk = user_model._meta.pk.column
    return (
        f"SELECT {rows.columns(user_model, 'u')}, {rows.columns(Reviewer, 'r')}"
        f' FROM {rows.table(user_model)} u LEFT JOIN {rows.table(Reviewer)} r ON r.user_id = u."{pk}"'
        f' WHERE u."{pk}" = %s'
    )


def loaded_reviewer(user):
    """The user's Reviewer row (None when they have none) if it was loaded with the user for
    this request; ``NOT_LOADED`` otherwise (a session of ModelBackend's, a user object from
    elsewhere, whose cached row may be old): the caller then reads it."""
    if not getattr(user, _LOADED, False):
        return NOT_LOADED
    return get_user_model().reviewer.related.get_cached_value(user)


def forget_loaded_reviewer(user) -> None:
    """After a write to the user's Reviewer row: :func:`loaded_reviewer` no longer answers from
    the row loaded with the user."""
    if getattr(user, _LOADED, False):
        setattr(user, _LOADED, False)
