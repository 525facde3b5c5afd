"""/metrics in process: scrape, act through the test client, scrape again and see exactly the
counters that should move; labels are URL pattern names, never raw paths; refused outside the
allowed networks unless the bearer token is right. Two gunicorn workers and a Celery worker:
tests/lib/test_ops_through_gunicorn.py."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from assignments.models import Assignment
from tests import factories


def scrape(client: Client | None = None, **extra) -> dict[tuple[str, frozenset], float]:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:300]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset({k: str(v) for k, v in labels.items()}.items())), 0.0)


def moved(before, after, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def pages(tags):
    document = factories.make_document(pages=6)
    assignment = factories.make_assignment(documents=[document], featured=Assignment.Featured.MAIN)
    return assignment, list(document.pages.order_by("number"))


@pytest.mark.django_db(transaction=True)
def test_a_first_review_and_a_skip_move_their_counters_once(pages):
    assignment, page_list = pages
    visitor = Client()
    before = scrape()
    assert (
        visitor.post(f"/review/{page_list[0].pk}/", {"action": "submit", "tags": ["receipt"]}).status_code
        == 302
    )
    assert visitor.post(f"/review/{page_list[1].pk}/", {"action": "submit"}).status_code == 302
    assert visitor.post(f"/review/{page_list[2].pk}/", {"action": "skip"}).status_code == 302
    after = scrape()
    assert moved(before, after, "crowd_reviews_total") == 2
    assert moved(before, after, "crowd_skips_total") == 1
    assert moved(before, after, "crowd_first_reviews_total") == 1  # one anon-<n> for the visitor
    assert moved(before, after, "crowd_http_requests_total", route="review", method="POST", status=302) == 3
    assert moved(before, after, "crowd_http_request_duration_seconds_count", route="review") == 3
    routes = {v for _, labels in after for k, v in labels if k == "route"}
    assert "review" in routes and not [r for r in routes if "/review/" in r]  # no raw paths


@pytest.mark.django_db(transaction=True)
def test_a_refused_write_counts_nothing_but_the_refusal(pages, settings):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    _, page_list = pages
    visitor = Client()
    visitor.post(f"/review/{page_list[0].pk}/", {"action": "submit"})  # creates the session
    visitor.post(f"/review/{page_list[1].pk}/", {"action": "submit"})  # counted against it
    before = scrape()
    assert visitor.post(f"/review/{page_list[2].pk}/", {"action": "submit"}).status_code == 429
    after = scrape()
    assert moved(before, after, "crowd_rate_limit_refusals_total", limit="session") == 1
    assert moved(before, after, "crowd_reviews_total") == 0
    assert moved(before, after, "crowd_http_requests_total", route="review", method="POST", status=429) == 1


@pytest.mark.django_db(transaction=True)
def test_a_pick_counts_its_source_and_its_reservation_is_live(pages, reviewer):
    assignment, _ = pages
    client = Client()
    client.force_login(reviewer)
    client.get(f"/assignments/{assignment.slug}/start/")
    before = scrape()
    response = client.get("/review/next/")
    assert response.status_code == 302 and response["Location"].startswith("/review/")
    after = scrape()
    picks = {
        source: moved(before, after, "crowd_picker_picks_total", source=source)
        for source in ("redis", "pool", "postgres")
    }
    assert sum(picks.values()) == 1, picks
    assert value(after, "crowd_picker_live_reservations") >= 1
    assert (
        moved(before, after, "crowd_http_requests_total", route="review-next", method="GET", status=302) == 1
    )


@pytest.mark.django_db(transaction=True)
def test_page_cache_hits_and_misses_are_counted(pages, settings):
    settings.PAGE_CACHE_ENABLED = True
    before = scrape()
    first, second = Client().get("/"), Client().get("/")
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    after = scrape()
    assert moved(before, after, "crowd_page_cache_events_total", event="miss") == 1
    assert moved(before, after, "crowd_page_cache_events_total", event="hit") == 1
    # A hit never reaches URL resolution; it is still counted under its pattern's name.
    assert moved(before, after, "crowd_http_requests_total", route="home", method="GET", status=200) == 2


@pytest.mark.django_db(transaction=True)
def test_task_outcomes_and_queue_depth():
    from lib.tasks import clear_expired_sessions

    before = scrape()
    clear_expired_sessions.apply()
    clear_expired_sessions.delay()  # waits in the (test) broker's queue: nobody consumes it
    after = scrape()
    task = "lib.tasks.clear_expired_sessions"
    assert moved(before, after, "crowd_celery_tasks_total", task=task, outcome="success") == 1
    assert moved(before, after, "crowd_celery_queue_length", queue="celery") == 1


@pytest.mark.django_db
def test_it_is_refused_outside_the_allowed_networks(settings):
    settings.METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR="203.0.113.5").get("/metrics")
    assert response.status_code == 403
    assert b"crowd_" not in response.content


@pytest.mark.django_db
def test_a_proxied_outsider_is_refused_and_a_listed_network_accepted(settings):
    """Behind a trusted proxy the visitor's address decides (TRUSTED_PROXIES, as for rate limits)."""
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "192.0.2.0/24"]
    proxied = Client(REMOTE_ADDR="10.0.0.1")
    assert proxied.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 403
    assert proxied.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.44").status_code == 200
    # An untrusted sender cannot claim a listed address with the header.
    assert (
        Client(REMOTE_ADDR="203.0.113.5").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    )


@pytest.mark.django_db
def test_the_bearer_token_is_accepted_from_anywhere_and_a_wrong_one_is_not(settings):
    settings.METRICS_TOKEN = "s3cret-token-for-prometheus"
    outsider = Client(REMOTE_ADDR="203.0.113.5")
    assert (
        outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus").status_code == 200
    )
    assert (
        outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheuX").status_code == 403
    )
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token-for-prometheus").status_code == 403


def test_nonsense_allowed_networks_stop_start_up():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings",
             "METRICS_ALLOWED_NETWORKS": "127.0.0.1,not-a-network"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "METRICS_ALLOWED_NETWORKS" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_drift_found_and_repaired_is_counted_by_entry(tags):
    from django.db import connection

    from denorm import operations, registry, tasks
    from tests.denorm_support import imported

    document = imported(member=factories.make_member(), pages=2)
    factories.make_assignment(documents=[document])
    operations.rebuild_entries(registry.all_entries())
    page = document.pages.order_by("number").first()
    with connection.cursor() as cursor:  # a hand-made fix that forgot the registry
        cursor.execute("UPDATE reviews_page SET review_count = 99 WHERE id = %s", [page.pk])
    before = scrape()
    tasks.check_and_repair_denormalisations.apply()
    after = scrape()
    assert moved(before, after, "crowd_denormalisation_drift_found_total", entry="page-review-count") == 1
    assert moved(before, after, "crowd_denormalisation_drift_repaired_total", entry="page-review-count") == 1
    assert moved(before, after, "crowd_denormalisation_drift_found_total", entry="document-pages") == 0
    task = "denorm.tasks.check_and_repair_denormalisations"
    assert moved(before, after, "crowd_celery_tasks_total", task=task, outcome="success") == 1


@pytest.mark.django_db
def test_ipv6_loopback_is_allowed_and_other_ipv6_refused(settings):
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="2001:db8::5").get("/metrics").status_code == 403
