"""A way round the staff side: /staff/denormalisations/ has Check and Rebuild buttons (POST with
CSRF, staff with the operate permission only) that queue a Celery task whose outcome the page
then shows; the admin and the staff pages link to each other; /staff/cache/ says in words what
its numbers mean."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from catalogue.models import Page
from denorm import tasks
from denorm.models import DenormalisationState
from lib.redis_client import get_redis
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/staff/denormalisations/"


def queued_tasks() -> list[tuple[str, list]]:
    """The messages waiting on the Celery broker (the test Redis database, queue "celery")."""
    out = []
    for raw in get_redis().lrange("celery", 0, -1):
        message = json.loads(raw)
        body = json.loads(__import__("base64").b64decode(message["body"]))
        out.append((message["headers"]["task"], body[0]))
    return out


def test_check_queues_a_task_whose_result_the_page_shows(client, editor):
    doc = factories.make_document(pages=2)
    client.force_login(editor)
    html = client.get(URL).content.decode()
    assert 'action="/staff/denormalisations/page-review-count/check/"' in html
    response = client.post("/staff/denormalisations/page-review-count/check/", follow=True)
    assert "Check of page-review-count queued" in response.content.decode()
    assert ("denorm.tasks.check_denormalisation", ["page-review-count"]) in queued_tasks()

    # What the worker does with it, and what the page then shows.
    page = doc.pages.first()
    Page.objects.filter(pk=page.pk).update(review_count=5)
    tasks.check_denormalisation.apply(args=["page-review-count"])
    row = client.get(URL).content.decode().split('data-name="page-review-count"', 1)[1].split("</tr>", 1)[0]
    assert "missing 0, extra 0, wrong 1" in row and f"page {page.pk}: 5, should be 0" in row


def test_rebuild_queues_the_rebuild_task(client, editor, django_capture_on_commit_callbacks):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):  # queued once the request commits
        client.post("/staff/denormalisations/reviewer-review-count/rebuild/")
    assert ("denorm.tasks.rebuild_denormalisation", ["reviewer-review-count"]) in queued_tasks()


def test_the_buttons_need_the_permission_a_post_and_the_csrf_token(client, editor):
    staff = factories.make_user("desk", is_staff=True)
    client.force_login(staff)
    assert "/check/" not in client.get(URL).content.decode()  # no buttons without the permission
    assert client.post("/staff/denormalisations/page-review-count/check/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="operate_denormalisations"))
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.post("/staff/denormalisations/page-review-count/check/").status_code == 302
    assert client.get("/staff/denormalisations/page-review-count/check/").status_code == 405
    assert client.post("/staff/denormalisations/no-such-thing/check/").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    get_redis().delete("celery")
    assert strict.post("/staff/denormalisations/page-review-count/check/").status_code == 403
    assert queued_tasks() == []
    assert not DenormalisationState.objects.filter(
        name="page-review-count", last_check_at__isnull=False
    ).exists()


def test_the_admin_and_the_staff_pages_link_to_each_other(client, editor):
    client.force_login(editor)
    admin = client.get("/admin/").content.decode()
    for url in ["/staff/activity/", "/staff/denormalisations/", "/staff/cache/"]:
        assert f'href="{url}"' in admin, url
        assert 'href="/admin/"' in client.get(url).content.decode(), url


def test_the_cache_page_explains_its_numbers_in_words(client, editor):
    factories.make_assignment()
    client.force_login(editor)
    html = client.get("/staff/cache/").content.decode()
    assert "No page was handed out in the last 24 hours." in html
    assert "The normal path: a page drawn at random" in html
    assert "Pages handed to a reviewer in the last" in html
    assert "used only when Redis is down" in html


def test_staff_names_carry_a_badge_wherever_names_appear(client, editor, reviewer):
    client.force_login(editor)
    assert 'class="staff-badge"' in client.get("/").content.decode()  # the header

    def main(url):
        return client.get(url).content.decode().split("<main", 1)[1]

    assert 'class="staff-badge"' in main(f"/users/{editor.username}/")
    assert 'class="staff-badge"' not in main(f"/users/{reviewer.username}/")
