"""Index pages: parties, members and documents with their tags, counts and combination links."""

from __future__ import annotations

from django.urls import reverse

from tests import factories
from tests.results._support import pages_of, review


def test_model_urls_resolve(client, release, tags):
    party, member, doc = release["parties"]["red"], release["members"]["ann"], release["docs"]["ann"]
    for obj in (party, member, doc, tags["receipt"]):
        assert client.get(obj.get_absolute_url()).status_code == 200, obj
    assert reverse("tag", args=["receipt"]) == "/tags/receipt/"


def test_index_pages_have_plain_titles(client, release):
    """The browser tab says the party's, member's or document's name, and nothing else (the
    discoveries section once sat inside the title block: its markup showed as the tab's text)."""
    party, member, doc = release["parties"]["red"], release["members"]["ann"], release["docs"]["ann"]
    for obj, name in ((party, "Red"), (member, "Ann Red"), (doc, "Ann&#x27;s claims")):
        html = client.get(obj.get_absolute_url()).content.decode()
        title = html.split("<title>", 1)[1].split("</title>", 1)[0]
        assert title == f"{name} · Crowd review", title


def test_party_page_counts_visible_pages_per_tag(client, release, tags):
    red = release["parties"]["red"]
    review(pages_of(release["docs"]["ann"])[0], "receipt")
    review(pages_of(release["docs"]["bob"])[0], "receipt", "claim-form")
    review(pages_of(release["docs"]["cat"])[0], "receipt")  # blue
    html = client.get(f"/parties/{red.slug}/").content.decode()
    receipt_row = html.split("Receipt</span></td>")[1].split("</tr>")[0]
    assert "<td>2</td>" in receipt_row
    claim_row = html.split("Claim form</span></td>")[1].split("</tr>")[0]
    assert "<td>1</td>" in claim_row
    assert "Ann Red" in html and "Bob Red" in html and "Cat Blue" not in html


def test_counts_follow_the_visibility_rule(client, release, tags, editor):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    review(pages_of(release["docs"]["ann"])[0], "investigate-this")
    member = release["members"]["ann"]
    html = client.get(f"/members/{member.slug}/").content.decode()
    assert "<td>0</td>" in html.split("Investigate this</span></td>")[1].split("</tr>")[0]
    assert "lowest threshold of the open assignments it is in" in html
    client.force_login(editor)
    html = client.get(f"/members/{member.slug}/").content.decode()
    assert "<td>1</td>" in html.split("Investigate this</span></td>")[1].split("</tr>")[0]


def test_member_and_document_pages_link_to_combinations(client, release, tags):
    member, doc = release["members"]["cat"], release["docs"]["cat"]
    html = client.get(f"/members/{member.slug}/").content.decode()
    assert f'href="/members/{member.slug}/tags/receipt/"' in html
    assert f'href="/in-order/members/{member.slug}/tags/receipt/"' in html
    assert f'href="{doc.get_absolute_url()}"' in html
    html = client.get(f"/documents/{doc.pk}/").content.decode()
    assert f'href="/documents/{doc.pk}/tags/receipt/"' in html
    assert "sources/" not in html  # never the source PDF


def test_lists_of_parties_and_members(client, release):
    html = client.get("/parties/").content.decode()
    assert 'href="/parties/' in html and "Red" in html and "Blue" in html
    html = client.get("/members/").content.decode()
    assert all(m.name in html for m in release["members"].values())


def test_unknown_index_objects_are_404(client, db):
    for url in [
        "/parties/nope/",
        "/members/nope/",
        "/documents/12345/",
        "/documents/99999999999999999999999/",
    ]:
        assert client.get(url).status_code in (400, 404), url
