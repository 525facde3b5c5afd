"""Leaderboards: each review counts once on the overall board and on its assignment's, member's
and party's; the table ranks by count, ties share a rank and are listed by name, the signed-in
reviewer sees "you are #N", and names come from Postgres (a claimed account's new name at once)."""

import pytest

from contributors import leaderboards, selectors
from contributors.leaderboards import ALL, ASSIGNMENT, MEMBER, PARTY, Board
from reviews.actions import claim_account, create_anonymous_reviewer
from tests import factories
from tests.contributors._support import board, build, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(db):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=6)
    other = factories.make_document(pages=3)  # no member
    assignment = factories.make_assignment(members=[member])
    return party, member, doc, other, assignment


def test_each_review_counts_on_every_board_it_belongs_to(release, reviewer, reviewer2, tags):
    party, member, doc, other, assignment = release
    build()
    pages = list(doc.pages.order_by("number"))
    for page in pages[:3]:
        review(reviewer, page, "receipt", assignment=assignment)
    review(reviewer2, pages[0], assignment=assignment)
    review(reviewer2, other.pages.first())  # no assignment, member or party
    assert board(ALL) == {reviewer.pk: 3, reviewer2.pk: 2}
    assert board(ASSIGNMENT, assignment.pk) == {reviewer.pk: 3, reviewer2.pk: 1}
    assert board(MEMBER, member.pk) == {reviewer.pk: 3, reviewer2.pk: 1}
    assert board(PARTY, party.pk) == {reviewer.pk: 3, reviewer2.pk: 1}


def test_the_table_orders_by_count_and_ties_share_a_rank_listed_by_name(release, tags):
    _, _, doc, _, _ = release
    build()
    pages = list(doc.pages.order_by("number"))
    zed, amy, bea, cat = (factories.make_user(n) for n in ("zed", "amy", "Bea", "cat"))
    for user, n in ((zed, 3), (amy, 2), (bea, 2), (cat, 1)):
        for page in pages[:n]:
            review(user, page)
    table = selectors.board_table(leaderboards.OVERALL, viewer=cat)
    assert [(r.rank, r.username, r.count, r.shared) for r in table.rows] == [
        (1, "zed", 3, False),
        (2, "amy", 2, True),
        (2, "Bea", 2, True),
        (4, "cat", 1, False),
    ]
    assert table.source == "redis"
    assert (table.viewer.rank, table.viewer.count) == (4, 1)


def test_the_table_shows_the_top_ten_and_the_viewer_s_place_beyond_it(release, tags):
    _, _, doc, _, _ = release
    pages = list(factories.make_document(pages=12).pages.order_by("number"))
    build()
    users = [factories.make_user(f"r{i:02d}") for i in range(12)]
    for i, user in enumerate(users):
        for page in pages[: i + 1]:  # r00: 1 review ... r11: 12 reviews
            review(user, page)
    table = selectors.board_table(leaderboards.OVERALL, viewer=users[0])
    assert [r.username for r in table.rows] == [f"r{i:02d}" for i in range(11, 1, -1)]
    assert table.viewer.rank == 12


def test_an_anonymous_viewer_has_no_place(release, tags, client):
    build()
    table = selectors.board_table(leaderboards.OVERALL, viewer=None)
    assert table.viewer is None and table.rows == []


def test_a_claimed_account_shows_its_new_name_at_once(release, tags, client):
    _, _, doc, _, assignment = release
    build()
    anon = create_anonymous_reviewer()
    review(anon, doc.pages.first(), assignment=assignment)
    assert [r.username for r in selectors.board_table(Board(ASSIGNMENT, assignment.pk)).rows] == [
        anon.username
    ]
    claim_account(user=anon, username="sharp-eyes", password="a-long-pass-phrase-9")
    assert [r.username for r in selectors.board_table(Board(ASSIGNMENT, assignment.pk)).rows] == [
        "sharp-eyes"
    ]
    response = client.get(f"/assignments/{assignment.slug}/")
    assert "sharp-eyes" in response.content.decode()
    assert anon.username not in response.content.decode()


def test_owner_pages_show_their_boards(release, reviewer, tags, client):
    party, member, doc, _, assignment = release
    build()
    review(reviewer, doc.pages.first(), assignment=assignment)
    for url in (
        f"/assignments/{assignment.slug}/",
        f"/members/{member.slug}/",
        f"/parties/{party.slug}/",
        "/reviewers/",
    ):
        body = client.get(url).content.decode()
        assert f'data-user-id="{reviewer.pk}"' in body, url
