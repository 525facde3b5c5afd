"""Tag keys in the admin: unique among active tags whatever their case, with a clear error (not
"Constraint ... is violated"); the review screen's own keys (skip, zoom) are refused."""

import pytest

from catalogue.models import Tag

pytestmark = pytest.mark.django_db


def add(client, **data):
    form = {"name": "New", "slug": "new", "order": "0", "active": "on", "key": "", "description": ""}
    form.update(data)
    return client.post("/admin/catalogue/tag/add/", form)


def test_a_key_differing_only_in_case_is_refused_with_the_other_tags_name(client, editor, tags):
    client.force_login(editor)
    response = add(client, key="R")
    assert response.status_code == 200
    html = response.content.decode()
    name = tags["receipt"].name
    assert f"The active tag “{name}” already uses “R” (keys ignore case)." in html
    assert "Constraint" not in html
    assert not Tag.objects.filter(slug="new").exists()


@pytest.mark.parametrize(("key", "why"), [("s", "skips the page"), ("Z", "zooms the page image")])
def test_the_review_screens_keys_are_refused(client, editor, tags, key, why):
    client.force_login(editor)
    html = add(client, key=key).content.decode()
    assert why in html and not Tag.objects.filter(slug="new").exists()


def test_a_free_key_and_an_inactive_tags_key_are_accepted(client, editor, tags):
    client.force_login(editor)
    assert add(client, key="x").status_code == 302  # "x" belongs to an inactive tag only
    assert Tag.objects.get(slug="new").key == "x"


def test_the_changelist_list_edit_gives_the_same_clear_error(client, editor, tags):
    client.force_login(editor)
    hand = tags["hand-written"]
    rows = list(Tag.objects.order_by("order", "name"))
    form = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "Save"}
    for i, tag in enumerate(rows):
        form.update(
            {f"form-{i}-id": str(tag.pk), f"form-{i}-key": tag.key, f"form-{i}-order": str(tag.order)}
        )
        if tag.active:
            form[f"form-{i}-active"] = "on"
        if tag.pk == hand.pk:
            form[f"form-{i}-key"] = "C"
    response = client.post("/admin/catalogue/tag/", form)
    assert response.status_code == 200
    assert "already uses “C”" in response.content.decode()
    hand.refresh_from_db()
    assert hand.key == "h"


def test_the_database_refuses_keys_differing_only_in_case(tags):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(name="Upper", slug="upper", key="R")
