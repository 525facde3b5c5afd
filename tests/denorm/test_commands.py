"""rebuild_denormalisations, check_denormalisations, denormalisation_docs and the staff page."""

import io

import pytest
from django.core.management import CommandError, call_command

from catalogue.models import Page
from denorm import docs, registry
from denorm.models import DenormalisationState
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Standing users are created per test here (real commits): skip the deliberate slowness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def reviewed(reviewer, tags):
    doc = factories.make_document(member=factories.make_member(party=factories.make_party()), pages=3)
    assignment = factories.make_assignment(documents=[doc])
    page = doc.pages.first()
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    return {"doc": doc, "assignment": assignment, "page": page}


def test_it_lists_every_registered_name(db):
    out = run("rebuild_denormalisations", "--list")
    for name in ["assignment-todo", "reviewer-seen", "page-tags", "document-pages", "assignment-progress"]:
        assert name in out


def test_check_names_the_drift_and_exits_non_zero_then_rebuild_repairs_it(reviewed):
    run("rebuild_denormalisations")
    assert "drift" not in run("check_denormalisations")
    Page.objects.filter(pk=reviewed["page"].pk).update(review_count=7)
    get_redis().sadd(keys.document_pages(reviewed["doc"].pk), 55555)
    # The assignment's review count is summed from the pages' counts: it drifts with them.
    with pytest.raises(CommandError, match="page-review-count, assignment-review-count, document-pages"):
        run("check_denormalisations")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_denormalisations", "page-review-count", stdout=out)
    assert f"page {reviewed['page'].pk}: 7, should be 1" in out.getvalue()
    assert "wrong 1" in out.getvalue()
    assert "rebuilt" in run("rebuild_denormalisations", "page-review-count", "document-pages")
    assert "ok" in run("check_denormalisations", "page-review-count", "document-pages")
    assert Page.objects.get(pk=reviewed["page"].pk).review_count == 1


def test_unknown_names_are_refused_and_nothing_is_rebuilt(reviewed):
    get_redis().flushdb()
    with pytest.raises(CommandError, match="unknown denormalisation 'nope'"):
        run("rebuild_denormalisations", "assignment-todo", "nope")
    with pytest.raises(CommandError, match="unknown denormalisation"):
        run("check_denormalisations", "nope")
    assert not get_redis().exists(keys.assignment_todo(reviewed["assignment"].pk))
    assert not DenormalisationState.objects.exists()


def test_runs_are_recorded_for_the_staff_page(reviewed):
    run("rebuild_denormalisations", "reviewer-seen")
    state = DenormalisationState.objects.get(name="reviewer-seen")
    assert state.last_rebuild_at is not None and state.last_check_at is None
    get_redis().delete(keys.reviewer_seen(reviewed["page"].reviews.get().reviewer_id))
    with pytest.raises(CommandError):
        run("check_denormalisations", "reviewer-seen")
    state.refresh_from_db()
    assert (state.last_check_ok, state.missing, state.extra) == (False, 1, 0)


def test_the_committed_document_is_the_generated_one():
    """Fails when docs/denormalisations.md is out of date: run `manage.py denormalisation_docs`."""
    assert docs.docs_path().read_text() == docs.render_docs()


def test_docs_check_fails_on_a_stale_document_and_the_command_rewrites_it(tmp_path, monkeypatch):
    path = tmp_path / "denormalisations.md"
    path.write_text("# stale\n")
    monkeypatch.setattr(docs, "docs_path", lambda: path)
    with pytest.raises(CommandError, match="out of date"):
        run("denormalisation_docs", "--check")
    assert path.read_text() == "# stale\n"
    run("denormalisation_docs")
    assert "up to date" in run("denormalisation_docs", "--check")
    text = path.read_text()
    for entry in registry.all_entries():
        assert f"## {entry.name}" in text


def test_the_staff_page_is_for_staff_only(client, reviewer):
    response = client.get("/staff/denormalisations/")
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(reviewer)
    assert client.get("/staff/denormalisations/").status_code == 403


def test_the_staff_page_shows_where_each_lives_and_the_last_runs(client, editor, reviewed):
    run("rebuild_denormalisations", "assignment-todo")
    Page.objects.filter(pk=reviewed["page"].pk).update(review_count=9)
    with pytest.raises(CommandError):
        run("check_denormalisations", "page-review-count")
    client.force_login(editor)
    response = client.get("/staff/denormalisations/")
    assert response.status_code == 200
    html = response.content.decode()
    for entry in registry.all_entries():
        assert f'data-name="{entry.name}"' in html
    assert "<code>crowd:v1:{a:&lt;id&gt;}:todo</code>" in html
    assert "`" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # Markdown spans rendered
    assert "missing 0, extra 0, wrong 1" in html
    assert f"page {reviewed['page'].pk}: 9, should be 1" in html


def test_with_redis_down_the_commands_say_so_and_fail(settings, reviewed):
    from lib.redis_client import reset_redis

    settings.REDIS_URL = "unix:///tmp/crowd-b-no-redis.sock?db=0"
    reset_redis()
    try:
        out = io.StringIO()
        with pytest.raises(CommandError, match="reviewer-seen"):
            call_command("check_denormalisations", "page-review-count", "reviewer-seen", stdout=out)
        assert "page-review-count: ok" in out.getvalue()
        assert "reviewer-seen: cannot check, Redis is unavailable" in out.getvalue()
        with pytest.raises(CommandError, match="Redis is unavailable"):
            run("rebuild_denormalisations", "assignment-todo")
    finally:
        reset_redis()
