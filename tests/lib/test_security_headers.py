"""Every response carries a Content-Security-Policy without inline script and
X-Content-Type-Options: nosniff, pages and files (static and media) alike; no template holds an
inline script or event handler that the policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/account/login/", "/no-such-page/", "/static/css/site.css"])
def test_pages_and_static_files_carry_the_policy_and_nosniff(client, url):
    response = client.get(url)
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe-inline" in v or "unsafe-eval" in v for vs in policy.values() for v in vs)


@pytest.mark.django_db
def test_media_files_carry_nosniff_and_the_policy(client, settings, tmp_path, db):
    from tests import factories

    settings.MEDIA_ROOT = tmp_path
    # A page's image (the media route serves only files a page refers to: moderation takedown).
    image = factories.make_document(pages=1).pages.get().image.name
    (tmp_path / image).parent.mkdir(parents=True)
    # Bytes a browser would sniff as HTML if allowed to.
    (tmp_path / image).write_bytes(b"<html><script>alert(1)</script></html>")
    response = client.get(f"/media/{image}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response["Content-Security-Policy"]


def _templates() -> list[Path]:
    return [
        p
        for p in BASE_DIR.rglob("*.html")
        if not {".venv", ".data", "staticfiles", "node_modules"} & set(p.parts)
    ]


def test_no_template_has_inline_script_or_event_handlers():
    found = _templates()
    assert any(p.name == "review.html" for p in found)
    offenders = []
    for path in found:
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text, re.I):
            tag = match.group(0)
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path}: {tag}")
        for match in re.finditer(r"\son[a-z]+\s*=", text, re.I):
            offenders.append(f"{path}: {match.group(0).strip()}")
        if re.search(r"javascript:", text, re.I):
            offenders.append(f"{path}: javascript: URL")
    assert offenders == []


def test_the_policy_is_a_setting():
    assert "script-src 'self'" in settings.CONTENT_SECURITY_POLICY
