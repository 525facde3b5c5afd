"""/healthz and /readyz in process, against the real embedded servers: the JSON shape, never
cached or given a session, answered whatever the Host or scheme, and a memcached or broker that
does not answer reported without failing readiness. Postgres and Redis stopped under gunicorn:
tests/lib/test_ops_through_gunicorn.py."""

from __future__ import annotations

import json

import pytest

from lib import health


@pytest.mark.django_db
def test_it_answers_liveness_without_touching_any_server(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_it_reports_every_server_ok_when_all_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "postgres": "ok",
        "redis": "ok",
        "memcached": "ok",
        "celery_broker": "ok",
    }


@pytest.mark.django_db(transaction=True)
def test_it_is_never_cached_nor_given_a_session(client, settings):
    settings.PAGE_CACHE_ENABLED = True
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response
        assert response["Cache-Control"] == "no-store"
        assert not response.cookies


@pytest.mark.django_db(transaction=True)
def test_a_probe_by_address_over_http_is_answered_in_production_shape(client, settings):
    """A load balancer probes by IP over plain HTTP: no DisallowedHost 400, no HTTPS redirect."""
    settings.ALLOWED_HOSTS = ["crowd.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # other pages still checked


@pytest.mark.django_db(transaction=True)
def test_memcached_not_answering_is_reported_down_and_readiness_holds(client, settings, tmp_path):
    settings.MEMCACHED_SERVERS = [f"unix:{tmp_path}/nobody.sock"]
    body = json.loads(client.get("/readyz").content)
    assert body["status"] == "degraded"
    assert body["checks"]["memcached"]["status"] == "down"


@pytest.mark.django_db(transaction=True)
def test_one_of_two_memcached_servers_down_is_degraded(settings, tmp_path):
    settings.MEMCACHED_SERVERS = [*settings.MEMCACHED_SERVERS, f"unix:{tmp_path}/nobody.sock"]
    assert health.memcached_status() == ("degraded", "1 of 2 servers down")


@pytest.mark.django_db(transaction=True)
def test_a_broker_not_answering_is_down_and_readiness_holds(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path}/nobody.sock?virtual_host=3"
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == 200
    assert body["checks"]["celery_broker"]["status"] == "down"
    assert body["checks"]["redis"]["status"] == "ok"


def test_broker_urls_are_read_as_redis_urls():
    assert health.broker_redis_url("redis+socket:///run/r.sock?virtual_host=15") == "unix:///run/r.sock?db=15"
    assert health.broker_redis_url("redis://h:6379/1") == "redis://h:6379/1"
    assert health.broker_redis_url("amqp://guest@h//") is None
