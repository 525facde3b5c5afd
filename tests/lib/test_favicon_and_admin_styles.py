"""The site answers /favicon.ico and links its icon from the public and the admin layouts; the
admin's page lists and page form show images without inline styles (the CSP allows none)."""

from __future__ import annotations

import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_answered(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO file
    assert client.post("/favicon.ico").status_code in (404, 405)


def test_the_layouts_link_the_icon(client, editor):
    assert 'rel="icon"' in client.get("/").content.decode()
    client.force_login(editor)
    assert 'rel="icon"' in client.get("/admin/").content.decode()


@pytest.mark.parametrize("url", ["/admin/catalogue/document/", "/admin/catalogue/page/", "page-form"])
def test_admin_page_images_have_no_inline_style(client, editor, url):
    document = factories.make_document(pages=2)
    page = document.pages.first()
    if url == "page-form":
        url = f"/admin/catalogue/page/{page.pk}/change/"
    client.force_login(editor)
    html = client.get(url).content.decode()
    images = re.findall(r"<img\b[^>]*>", html)
    assert any("thumbs/" in tag or "pages/" in tag for tag in images)
    assert [tag for tag in images if "style=" in tag] == []
