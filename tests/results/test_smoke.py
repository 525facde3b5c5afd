from tests.results._support import pages_of, review


def test_it_lists_a_tag(client, release, tags):
    p = pages_of(release["docs"]["ann"])[0]
    review(p, "receipt")
    r = client.get("/tags/receipt/")
    assert r.status_code == 200, r.content
    assert f"/pages/{p.pk}/" in r.content.decode()
