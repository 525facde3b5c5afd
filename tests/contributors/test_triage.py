"""The editors' triage inbox (/staff/triage/): pages reviewers highlighted that no editor has
decided on, ranked by how strongly the crowd agrees; one-click make discovery, dismiss and
"needs more eyes", each recorded with the editor and the time; staff only."""

import pytest

from assignments.models import PriorityPage
from contributors import selectors
from contributors.models import TriageDecision
from reviews.actions import create_discovery
from reviews.models import Discovery
from tests import factories
from tests.contributors._support import review

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return [factories.make_user(f"p{i}") for i in range(6)]


@pytest.fixture
def pages(db):
    member = factories.make_member(party=factories.make_party(name="Purple"), name="Jo Member")
    return list(factories.make_document(member=member, pages=5, title="Claims 2008").pages.order_by("number"))


def _review_many(page, people, highlighted: int, total: int):
    for i, person in enumerate(people[:total]):
        review(person, page, *(["investigate-this"] if i < highlighted else ["receipt"]))


def test_the_inbox_ranks_by_agreement_and_how_many_looked(pages, people, tags):
    _review_many(pages[0], people, highlighted=1, total=1)  # 1 of 1
    _review_many(pages[1], people, highlighted=4, total=5)  # 4 of 5
    _review_many(pages[2], people, highlighted=1, total=6)  # 1 of 6
    _review_many(pages[3], people, highlighted=3, total=3)  # 3 of 3
    _review_many(pages[4], people, highlighted=0, total=4)  # never highlighted
    items = selectors.triage_inbox()
    # Wilson lower bounds: 3/3 0.44, 4/5 0.38, 1/1 0.21, 1/6 0.03. Agreement and the number
    # who looked both count: 1 of 1 ranks far below 4 of 5; unanimity among 3 above 4 of 5.
    assert [(i.highlighters, i.reviews) for i in items] == [(3, 3), (4, 5), (1, 1), (1, 6)]
    assert [i.page.pk for i in items] == [pages[3].pk, pages[1].pk, pages[0].pk, pages[2].pk]
    assert items[0].page.document.member.party.name == "Purple"


def test_the_inbox_is_for_staff_only(client, reviewer, pages, tags, editor):
    review(reviewer, pages[0], "investigate-this")
    assert client.get("/staff/triage/").status_code == 302  # to the login page
    response = client.post(f"/staff/triage/{pages[0].pk}/", {"action": "dismiss"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(reviewer)
    assert client.get("/staff/triage/").status_code == 403
    for action in ("dismiss", "more_eyes", "discovery"):
        assert (
            client.post(f"/staff/triage/{pages[0].pk}/", {"action": action, "title": "x"}).status_code == 403
        )
    assert client.post(f"/pages/{pages[0].pk}/discovery/", {"title": "x"}).status_code == 403
    assert not TriageDecision.objects.exists() and not Discovery.objects.exists()
    assert not PriorityPage.objects.exists()


def test_the_inbox_page_shows_each_page_with_its_thumbnail_and_owners(client, editor, reviewer, pages, tags):
    review(reviewer, pages[0], "investigate-this")
    client.force_login(editor)
    body = client.get("/staff/triage/").content.decode()
    assert f'data-page-id="{pages[0].pk}"' in body
    assert pages[0].thumbnail.url in body and "Jo Member" in body and "Purple" in body
    assert "1</strong> of 1 reviewer" in body


def test_make_discovery_credits_the_first_highlighter_and_records_the_decision(
    client, editor, reviewer, reviewer2, pages, tags
):
    review(reviewer, pages[0], "receipt")
    review(reviewer2, pages[0], "investigate-this")
    client.force_login(editor)
    response = client.post(
        f"/staff/triage/{pages[0].pk}/",
        {"action": "discovery", "title": "A moat", "note": "Cleaning, £2,115"},
    )
    assert response.status_code == 302
    discovery = Discovery.objects.get()
    assert (discovery.page_id, discovery.title, discovery.credited, discovery.created_by) == (
        pages[0].pk,
        "A moat",
        reviewer2,
        editor,
    )
    decision = TriageDecision.objects.get()
    assert (decision.decision, decision.editor, decision.discovery) == ("discovery", editor, discovery)
    assert decision.created is not None
    assert selectors.triage_inbox() == []
    again = client.post(f"/staff/triage/{pages[0].pk}/", {"action": "discovery", "title": "Again"})
    assert again.status_code == 409 and Discovery.objects.count() == 1


def test_the_editor_may_credit_someone_else_or_nobody(client, editor, reviewer, reviewer2, pages, tags):
    review(reviewer, pages[0], "investigate-this")
    review(reviewer2, pages[0], "investigate-this")
    review(reviewer, pages[1], "investigate-this")
    client.force_login(editor)
    client.post(
        f"/staff/triage/{pages[0].pk}/", {"action": "discovery", "title": "A", "credit": str(reviewer2.pk)}
    )
    client.post(f"/staff/triage/{pages[1].pk}/", {"action": "discovery", "title": "B", "credit": "nobody"})
    assert Discovery.objects.get(page=pages[0]).credited == reviewer2
    assert Discovery.objects.get(page=pages[1]).credited is None


def test_a_dismissed_page_leaves_the_inbox_for_good(client, editor, people, pages, tags):
    _review_many(pages[0], people, highlighted=1, total=1)
    client.force_login(editor)
    assert client.post(f"/staff/triage/{pages[0].pk}/", {"action": "dismiss"}).status_code == 302
    decision = TriageDecision.objects.get()
    assert (decision.decision, decision.editor) == ("dismissed", editor)
    _review_many(pages[0], people[1:], highlighted=5, total=5)  # even if many more highlight it
    assert selectors.triage_inbox() == []


def test_needs_more_eyes_prioritises_the_page_and_it_returns_with_more_reviews(
    client, editor, people, pages, tags
):
    member = pages[0].document.member
    by_member = factories.make_assignment(members=[member])
    by_party = factories.make_assignment(parties=[member.party])
    factories.make_assignment(documents=[factories.make_document(pages=1)])  # does not contain it
    factories.make_assignment(members=[member], active=False)  # inactive
    _review_many(pages[0], people, highlighted=1, total=2)
    client.force_login(editor)
    assert client.post(f"/staff/triage/{pages[0].pk}/", {"action": "more_eyes"}).status_code == 302
    assert set(PriorityPage.objects.values_list("assignment_id", "page_id", "created_by")) == {
        (by_member.pk, pages[0].pk, editor.pk),
        (by_party.pk, pages[0].pk, editor.pk),
    }
    assert TriageDecision.objects.get().decision == "more_eyes"
    assert selectors.triage_inbox() == []  # until more people have seen it
    review(people[2], pages[0], "investigate-this")
    [item] = selectors.triage_inbox()
    assert (item.highlighters, item.reviews) == (2, 3) and item.more_eyes_at is not None


def test_a_page_made_a_discovery_elsewhere_is_not_in_the_inbox(reviewer, pages, tags):
    review(reviewer, pages[0], "investigate-this")
    create_discovery(page_id=pages[0].pk, title="From the admin")
    assert selectors.triage_inbox() == []


def test_bad_decisions_are_refused_and_change_nothing(client, editor, reviewer, pages, tags):
    review(reviewer, pages[0], "investigate-this")
    client.force_login(editor)
    url = f"/staff/triage/{pages[0].pk}/"
    assert client.post(url, {"action": "explode"}).status_code == 400
    assert client.post(url, {"action": "discovery", "title": "  "}).status_code == 400
    assert client.post(url, {"action": "discovery", "title": "x", "credit": "12abc"}).status_code == 400
    assert client.post(url, {"action": "discovery", "title": "x\x00y"}).status_code == 400
    assert client.post("/staff/triage/999999/", {"action": "dismiss"}).status_code == 404
    assert client.post(f"/staff/triage/{2**63}/", {"action": "dismiss"}).status_code == 404
    assert client.get(url).status_code == 405
    assert not TriageDecision.objects.exists() and not Discovery.objects.exists()
