"""Writes of the infrastructure: the editor account that ``manage.py serve`` logs the newsroom in
with. Only Django's auth models: ``lib`` depends on no feature app."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction


@transaction.atomic
def ensure_editor_account(*, username: str = "editor", password: str) -> AbstractBaseUser:
    """A staff superuser ``username`` whose password is ``password`` (created, or reset and made
    staff again when either drifted)."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
    if not user.check_password(password):
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
    return user
