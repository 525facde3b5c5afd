"""The registry core: entries, changed() on commit, built markers and the self-healing rebuild,
and what happens when Redis is down."""

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_delete

from catalogue.models import Page
from denorm import operations, registry, tasks
from denorm.changes import changed
from denorm.models import DenormalisationState
from denorm.registry import Denormalisation, Drift
from lib.redis_client import get_redis, reset_redis
from reviews.actions import submit_review
from reviews.models import Review
from tests import factories
from tests.denorm_support import maintained_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


def drift(names=None):
    """Drift of the entries this issue maintains on commit (the picker's memcached pool is
    refilled by a beat task and may lag by design)."""
    entries = registry.select(names or maintained_on_commit())
    return {e.name: str(d) for e, d in operations.check_entries(entries) if not d.ok}


@pytest.fixture
def redis_down(settings):
    """The project's Redis client pointed at a socket nobody listens on."""
    settings.REDIS_URL = "unix:///tmp/crowd-b-no-redis.sock?db=0"
    reset_redis()
    yield
    reset_redis()


def test_it_holds_every_required_entry_in_rebuild_order():
    names = [e.name for e in registry.all_entries()]
    required = [
        "document-pages", "member-pages", "party-pages", "assignment-needed", "assignment-done",
        "assignment-todo", "reviewer-seen", "page-review-count", "page-tags", "reviewer-review-count",
        "assignment-page-count", "assignment-progress",
    ]  # fmt: skip
    assert set(required) <= set(names)
    # Counters first (the sets read review_count); the to-do set after needed and done.
    assert names.index("page-review-count") < names.index("assignment-done") < names.index("assignment-todo")
    for entry in registry.all_entries():
        assert entry.description and entry.derived_from and entry.lives_in and entry.kept_current_by


def test_it_refuses_a_second_entry_with_the_same_name_and_unknown_names():
    entry = registry.get("page-tags")
    assert registry.register(entry) is entry
    clash = Denormalisation(
        name="page-tags", description="", derived_from="", lives_in="", kept_current_by="",
        rebuild=lambda: None, check=Drift,
    )  # fmt: skip
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(clash)
    with pytest.raises(KeyError, match="unknown denormalisation 'nope'"):
        registry.select(["page-tags", "nope"])


def test_changed_applies_after_commit_and_once_per_transaction(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=[])
    Page.objects.filter(pk=page.pk).update(review_count=4)
    with transaction.atomic():
        changed(pages=[page.pk])
        changed(pages=[page.pk], users=[reviewer.pk])
        ours = [c for c in connection.run_on_commit if "changed" in c[1].__qualname__]
        assert len(ours) == 1
        assert Page.objects.get(pk=page.pk).review_count == 4
    assert Page.objects.get(pk=page.pk).review_count == 1


def test_changes_of_a_rolled_back_savepoint_do_not_swallow_later_ones(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=[])
    Page.objects.filter(pk=page.pk).update(review_count=4)
    with transaction.atomic():
        try:
            with transaction.atomic():
                changed(users=[reviewer.pk])
                raise RuntimeError
        except RuntimeError:
            pass
        changed(pages=[page.pk])
    assert Page.objects.get(pk=page.pk).review_count == 1


def test_django_sends_post_delete_for_every_cascaded_review(reviewer, reviewer2, tags):
    """The maintenance of deletes relies on this: with a receiver, no fast delete."""
    doc = factories.make_document(pages=2)
    for page in doc.pages.all():
        for user in (reviewer, reviewer2):
            submit_review(only_open_pages=False, reviewer=user, page_id=page.pk, tag_slugs=["receipt"])
    seen = []

    def spy(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_delete.connect(spy, sender=Review)
    try:
        doc.member = None
        doc.delete()
    finally:
        post_delete.disconnect(spy, sender=Review)
    assert len(seen) == 4


def test_a_missing_marker_queues_one_rebuild_and_the_beat_task_does_the_same():
    factories.make_assignment(documents=[factories.make_document(pages=2)])
    operations.rebuild_entries(registry.all_entries())
    assert tasks.ensure_denormalisations.apply().get() == []
    get_redis().flushdb()
    queued = tasks.ensure_denormalisations.apply().get()
    assert set(queued) == {e.name for e in registry.all_entries() if e.has_marker}
    assert tasks.ensure_denormalisations.apply().get() == []  # the locks hold
    assert not operations.redis_family_ready("reviewer-seen")
    for name in queued:
        tasks.rebuild_denormalisation.apply(args=[name])
    assert all(operations.redis_family_ready(e.name) for e in registry.all_entries() if e.has_marker)
    assert drift() == {}


def test_redis_down_means_not_ready_never_an_error(redis_down):
    assert operations.redis_family_ready("assignment-todo") is False


def test_a_failed_on_commit_update_flags_the_copy_and_the_beat_task_rebuilds_it(settings, reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    factories.make_assignment(documents=[page.document])
    operations.rebuild_entries(registry.all_entries())
    good_url = settings.REDIS_URL
    settings.REDIS_URL = "unix:///tmp/crowd-b-no-redis.sock?db=0"
    reset_redis()
    try:
        outcome = submit_review(
            only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"]
        )
    finally:
        settings.REDIS_URL = good_url
        reset_redis()
    assert outcome.created  # the review is safe in Postgres whatever Redis did
    stale = set(DenormalisationState.objects.filter(stale_since__isnull=False).values_list("name", flat=True))
    assert {"reviewer-seen", "assignment-done", "assignment-todo"} <= stale
    assert "reviewer-seen" in drift()
    for name in tasks.ensure_denormalisations.apply().get():
        tasks.rebuild_denormalisation.apply(args=[name])
    assert drift() == {}
    assert not DenormalisationState.objects.filter(stale_since__isnull=False).exists()


def test_changes_of_a_rolled_back_transaction_are_forgotten(reviewer, tags):
    pages = list(factories.make_document(pages=2).pages.all())
    for page in pages:
        submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=[])
    Page.objects.update(review_count=4)
    with pytest.raises(RuntimeError), transaction.atomic():
        changed(pages=[pages[0].pk])
        raise RuntimeError
    with transaction.atomic():
        changed(pages=[pages[1].pk])
    assert Page.objects.get(pk=pages[0].pk).review_count == 4  # its declaration died with it
    assert Page.objects.get(pk=pages[1].pk).review_count == 1


def test_a_rebuild_queued_in_a_rolled_back_transaction_leaves_no_lock():
    """The lock is taken only after commit: a rollback must not block rebuilds for ten minutes."""
    from lib import keys

    with pytest.raises(RuntimeError), transaction.atomic():
        assert operations.queue_rebuild("assignment-todo")
        raise RuntimeError("rolled back")
    assert not get_redis().exists(keys.rebuild_lock("assignment-todo"))
    assert operations.queue_rebuild("assignment-todo") is True
    assert get_redis().exists(keys.rebuild_lock("assignment-todo"))
    assert operations.queue_rebuild("assignment-todo") is False
