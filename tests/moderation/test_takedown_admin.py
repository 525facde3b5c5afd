"""Editors withdraw and reinstate from the admin's Page and Document changelists (an
intermediate form asks why) and from the staff view of ``/pages/<id>/``; everyone else is
refused; each decision shows on ``/staff/activity/``; the media gate nginx asks answers right."""

from __future__ import annotations

import pytest
from django.test import Client

from catalogue.models import Document, Page
from moderation.actions.takedown import withdraw_page
from moderation.models import Withdrawal

pytestmark = pytest.mark.django_db(transaction=True)


def _action(client, model: str, action: str, ids, **extra):
    data = {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(f"/admin/catalogue/{model}/", data)


def test_withdraw_pages_from_the_changelist_asks_why_first(client, release, editor):
    client.force_login(editor)
    page = release["pages"][0]
    response = _action(client, "page", "withdraw_pages", [page.pk])
    assert response.status_code == 200 and b"Reason" in response.content  # the intermediate form
    assert Page.objects.get(pk=page.pk).withdrawn_at is None
    response = _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="  ")
    assert response.status_code == 400 and b"a reason is required" in response.content
    assert not Withdrawal.objects.exists()
    response = _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="Home address")
    assert response.status_code == 302
    assert Page.objects.get(pk=page.pk).withdrawn_at is not None
    assert client.get(f"/pages/{page.pk}/").status_code == 200  # staff still see it
    assert Client().get(f"/pages/{page.pk}/").status_code == 410
    response = _action(client, "page", "reinstate_pages", [page.pk], confirm="yes", reason="")
    assert response.status_code == 302 and Page.objects.get(pk=page.pk).withdrawn_at is None
    listing = client.get("/admin/catalogue/page/?withdrawn_at__isnull=True")
    assert listing.status_code == 200


def test_withdraw_and_reinstate_documents_from_the_changelist(client, release, editor):
    client.force_login(editor)
    doc = release["doc"]
    assert b"Withdraw selected documents" in client.get("/admin/catalogue/document/").content
    response = _action(client, "document", "withdraw_documents", [doc.pk], confirm="yes", reason="Medical")
    assert response.status_code == 302
    assert Document.objects.get(pk=doc.pk).withdrawn_at is not None
    assert not Page.objects.filter(document=doc, withdrawn_at__isnull=True).exists()
    # Withdrawing it again says so and changes nothing.
    response = _action(client, "document", "withdraw_documents", [doc.pk], confirm="yes", reason="again")
    follow = client.get(response["Location"])
    assert b"already withdrawn" in follow.content
    assert Withdrawal.objects.count() == 1
    page = release["pages"][0]
    _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="Also on its own")
    response = _action(client, "page", "reinstate_pages", [page.pk], confirm="yes", reason="")
    assert b"stays withdrawn: its document is withdrawn" in client.get(response["Location"]).content
    _action(client, "document", "reinstate_documents", [doc.pk], confirm="yes", reason="Cleared")
    assert not Page.objects.filter(document=doc, withdrawn_at__isnull=False).exists()


def test_the_staff_view_of_a_page_has_the_withdraw_and_reinstate_buttons(client, release, editor):
    page = release["pages"][1]
    client.force_login(editor)
    body = client.get(f"/pages/{page.pk}/").content.decode()
    assert f'action="/staff/pages/{page.pk}/withdraw/"' in body
    response = client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": ""})
    assert response.status_code == 400 and b"reason is required" in response.content
    response = client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": "Signature"})
    assert response.status_code == 302 and response["Location"] == f"/pages/{page.pk}/"
    body = client.get(f"/pages/{page.pk}/").content.decode()
    assert (
        "Withdrawn" in body and "Signature" in body and f'action="/staff/pages/{page.pk}/reinstate/"' in body
    )
    assert client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": "x"}).status_code == 409
    assert client.post(f"/staff/pages/{page.pk}/reinstate/", {"reason": "ok"}).status_code == 302
    assert Page.objects.get(pk=page.pk).withdrawn_at is None
    assert client.post("/staff/pages/999999999/withdraw/", {"reason": "x"}).status_code == 404


def test_nobody_but_staff_can_withdraw(client, release, reviewer):
    page = release["pages"][0]
    anonymous = client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": "x"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(reviewer)
    assert client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": "x"}).status_code == 403
    assert client.post(f"/staff/pages/{page.pk}/reinstate/", {"reason": "x"}).status_code == 403
    response = _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="x")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert "Withdraw this page" not in client.get(f"/pages/{page.pk}/").content.decode()
    assert not Withdrawal.objects.exists() and Page.objects.get(pk=page.pk).withdrawn_at is None


def test_withdrawing_needs_the_csrf_token(release, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    page = release["pages"][0]
    assert client.post(f"/staff/pages/{page.pk}/withdraw/", {"reason": "x"}).status_code == 403
    response = _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="x")
    assert response.status_code == 403
    assert Page.objects.get(pk=page.pk).withdrawn_at is None


def test_staff_activity_shows_who_withdrew_and_reinstated_when_and_why(client, release, editor):
    client.force_login(editor)
    page = release["pages"][0]
    _action(client, "page", "withdraw_pages", [page.pk], confirm="yes", reason="A <b>home</b> address")
    _action(client, "page", "reinstate_pages", [page.pk], confirm="yes", reason="Office address")
    body = client.get("/staff/activity/").content.decode()
    section = body[body.index('id="takedowns"') :]
    assert section.index("reinstated") < section.index("withdrawn")  # newest first
    assert "Office address" in section and "A &lt;b&gt;home&lt;/b&gt; address" in section
    assert section.count("editor-ed") == 2 and f"/pages/{page.pk}/" in section


def test_the_media_gate_nginx_asks(client, release, editor, django_assert_num_queries):
    page, other = release["pages"][0], release["pages"][1]
    withdraw_page(page, by=editor, reason="Home address")

    def ask(c, uri):
        return c.get("/_media-access/", HTTP_X_ORIGINAL_URI=uri)

    # Per image: one indexed query, no session, no user; a public answer is then kept for nginx
    # (pagecache.media), and the visibility read once more after the store, which closes the
    # race with a withdrawal committing meanwhile.
    with django_assert_num_queries(2):
        assert ask(client, f"/media/{other.image.name}").status_code == 204
    with django_assert_num_queries(1):  # a spelling nginx's key does not match is not kept
        assert ask(client, f"/media/{other.image.name}?v=1").status_code == 204
    refused = ask(client, f"/media/{page.thumbnail.name}?v=1")
    assert refused.status_code == 403 and refused["X-Media-Denied"] == "withdrawn"
    encoded = f"/media/{page.image.name}".replace("-", "%2D").replace("pages/", "pages//./")
    assert ask(client, encoded)["X-Media-Denied"] == "withdrawn"  # spelled differently, same file
    for uri in ("/media/pages/../pages/nothing.png", "/media/pages/9999999-1.png", "/media/thumbs/x.png", ""):
        response = ask(client, uri)
        assert response.status_code == 403 and response["X-Media-Denied"] == "unknown", uri
    client.force_login(editor)
    assert ask(client, f"/media/{page.image.name}").status_code == 204
