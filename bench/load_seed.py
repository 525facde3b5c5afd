"""The load benchmark's synthetic release, seeded in its own throwaway database."""

from __future__ import annotations

import io

from bench.load_config import LOAD_PAGES, PAGES_PER_DOCUMENT, THRESHOLD


def seed(pages: int = LOAD_PAGES) -> dict:
    """An empty bench database but for a synthetic release of ``pages`` pages, the tag set and
    one main assignment; every denormalisation rebuilt from it."""
    from django.core.management import call_command
    from django.db import connection

    from assignments import actions as assignment_actions
    from frontdesk.demo import seed_reference_data

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE reviews_party, reviews_member, reviews_document, reviews_page, reviews_review, "
            "reviews_skip, reviews_tag, assignments_assignment, assignments_pickerstat, auth_user, "
            "django_session RESTART IDENTITY CASCADE"
        )
    reference = seed_reference_data()
    member = reference["members"][0]
    documents = -(-pages // PAGES_PER_DOCUMENT)
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, error, "
            "created, public) SELECT d, 'Load bench document ' || d, %s, 'sources/load-' || d || '.pdf', "
            "md5(d::text) || md5('load' || d), %s, 'imported', '', now(), true FROM generate_series(1, %s) AS d",
            [member.pk, PAGES_PER_DOCUMENT, documents],
        )
        c.execute(
            "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count, "
            "public) "
            # Named "<document id>-..." as the importer names them: the media gate serves only such
            # names (bench/browser_bench.py fetches the images).
            "SELECT n, (n - 1) / %(per)s + 1, (n - 1) %% %(per)s + 1, "
            "'pages/' || ((n - 1) / %(per)s + 1) || '-load-' || n || '.jpg', "
            "'thumbs/' || ((n - 1) / %(per)s + 1) || '-load-' || n || '.jpg', 1400, 1980, 0, true "
            "FROM generate_series(1, %(pages)s) AS n",
            {"per": PAGES_PER_DOCUMENT, "pages": pages},
        )
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_page', 'id'), %s)", [pages])
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_document', 'id'), %s)", [documents])
    assignment = assignment_actions.create_assignment(
        title="Load bench", slug="load-bench", threshold=THRESHOLD, members=[member.pk]
    )
    assignment_actions.feature_assignment_as_main(assignment_id=assignment.pk)
    from lib.redis_client import get_redis

    get_redis().flushdb()  # the bench's own redis-server: nobody else's data
    call_command("rebuild_denormalisations", verbosity=0, stdout=io.StringIO())
    with connection.cursor() as c:
        c.execute("VACUUM (ANALYZE) reviews_page")
    tag = reference["tags"][0].slug
    return {"assignment": assignment.pk, "tag": tag, "pages": pages}


def reviews_in_postgres() -> int:
    from reviews.models import Review

    return Review.objects.count()
