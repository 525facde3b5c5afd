"""Writes about reviewer accounts: the anonymous ``anon-<n>`` account of a first review, and
claiming it.

No sign-up before the first review. The first review POST (never a mere visit: crawlers must
not create accounts) creates a real user ``anon-<n>`` with ``Reviewer(anonymous=True)`` (see
``reviews.sessions.first_write_account``, which also logs the browser in). Claiming renames the
same user and gives it a password, so every review and all credit stay where they are.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from lib import metrics
from reviews.account_rules import ANON_PREFIX, AccountError, check_username
from reviews.models import Reviewer


def create_anonymous_reviewer(*, created_from: str = "") -> AbstractBaseUser:
    """A fresh ``anon-<n>`` user with an unusable password and its anonymous Reviewer row.
    ``created_from``: the network it was created from (``lib.ratelimit.address_range``: a /24
    or /48, never the full address)."""
    User = get_user_model()
    with transaction.atomic():
        # The number is the user's primary key: unique without a counter of our own.
        user = User(username=f"{ANON_PREFIX}new-{uuid.uuid4().hex}")
        user.set_unusable_password()
        user.save()
        user.username = f"{ANON_PREFIX}{user.pk}"
        user.save(update_fields=["username"])
        Reviewer.objects.create(user=user, anonymous=True, created_from=created_from[:64])
        transaction.on_commit(metrics.count_first_review)  # crowd_first_reviews_total
    return user


def claim_account(
    *, user: AbstractBaseUser, username: str, password: str, email: str = ""
) -> AbstractBaseUser:
    """Turn an anonymous account into a named one; its reviews and credit stay with it.

    The caller validates the password (Django's validators, see ``ClaimForm``).
    """
    username = check_username(username, current_user_id=user.pk)
    with transaction.atomic():
        reviewer = Reviewer.objects.select_for_update().filter(user_id=user.pk).first()
        if reviewer is None or not reviewer.anonymous:
            raise AccountError("This account has already been claimed.", code="already_claimed")
        # A fresh copy: on failure the caller's user object (request.user) keeps its old name.
        account = get_user_model().objects.get(pk=user.pk)
        account.username = username
        account.email = email or ""
        account.set_password(password)
        try:
            with transaction.atomic():
                account.save(update_fields=["username", "email", "password"])
        except IntegrityError:
            # Someone took the name between the check and the save.
            raise AccountError(
                "That username is already taken. Please choose another.", code="taken"
            ) from None
        reviewer.anonymous = False
        reviewer.claimed_at = timezone.now()
        reviewer.save(update_fields=["anonymous", "claimed_at"])
    return account


def create_named_reviewer(
    *, username: str, password: str, email: str = "", created_from: str = ""
) -> AbstractBaseUser:
    """A new account with a username and password straight away, in one transaction: the
    visitor whose first review met the new-account limit and who chose to save an account
    (``reviews.held_views``). The same rules as claiming (it is claiming a fresh ``anon-<n>``);
    a refused name leaves no account. The caller validates the password."""
    check_username(username)
    with transaction.atomic():
        user = create_anonymous_reviewer(created_from=created_from)
        return claim_account(user=user, username=username, password=password, email=email)
