"""The load benchmark's client reads pages and replies as a browser would (bench/http_client.py)."""

from __future__ import annotations

import asyncio

from bench import load_bench
from bench.http_client import Connection, CookieJar, parse_head, parse_review_form
from tests.bench._support import (
    _recorder,  # noqa: F401
    run_async,
)

REVIEW_SCREEN = """
<form method="get" action="/search/"><input type="hidden" name="q" value="not this one"></form>
<form method="post" action="/review/42/" id="review-form" class="review-form"
      data-skip-key="s" data-fast-path="1" data-tagset="0123abcd">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">
  <input type="hidden" name="first_write" value="fw-1">
  <label><input type="checkbox" name="tags" value="receipt" data-key="r"> Receipt</label>
  <label><input type="checkbox" name="tags" value="claim-form"
         data-key="c"> Claim form</label>
  <button type="submit" name="action" value="submit">Submit</button>
</form>
"""


def test_it_reads_the_review_form_its_action_hidden_fields_and_tags():
    form = parse_review_form(REVIEW_SCREEN)
    assert form.action == "/review/42/"
    assert form.hidden == [("csrfmiddlewaretoken", "tok&en"), ("first_write", "fw-1")]
    assert form.tags == ["receipt", "claim-form"]
    assert form.fast_path and form.tagset == "0123abcd" and form.first_write
    assert form.body(tags=["receipt"]) == (
        b"csrfmiddlewaretoken=tok%26en&first_write=fw-1&tags=receipt&action=submit"
    )


def test_after_a_json_reply_the_next_form_posts_to_its_url_with_its_token_and_no_first_write():
    """As the review screen's script keeps the form: the tags stay, the action and CSRF token come
    from the reply, and the first write's token went with the first submit."""
    form = parse_review_form(REVIEW_SCREEN).for_next(url="/review/43/", csrf="new-token")
    assert form.action == "/review/43/"
    assert form.tags == ["receipt", "claim-form"]
    assert form.fast_path and form.tagset == "0123abcd" and not form.first_write
    assert form.body(tags=["claim-form"]) == b"csrfmiddlewaretoken=new-token&tags=claim-form&action=submit"


def test_a_screen_without_the_fast_path_says_so():
    form = parse_review_form(REVIEW_SCREEN.replace(' data-fast-path="1" data-tagset="0123abcd"', ""))
    assert form.action == "/review/42/"
    assert not form.fast_path and form.tagset is None


def test_it_finds_no_form_on_a_page_without_one():
    assert parse_review_form("<html><form action='/x/'></form>All done!</html>") is None


def test_the_cookie_jar_keeps_sets_replaces_and_deletes_like_a_browser():
    jar = CookieJar()
    jar.update(["csrftoken=abc; expires=Thu, 02 Dec 2027 06:00:00 GMT; Max-Age=31449600; Path=/"])
    jar.update(["sessionid=s1; HttpOnly; Path=/", 'messages="m"; Path=/'])
    assert jar.header() == "csrftoken=abc; sessionid=s1; messages=m"
    jar.update(
        ["sessionid=s2; Path=/", 'messages=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/']
    )
    assert jar.cookies == {"csrftoken": "abc", "sessionid": "s2"}


def test_it_parses_a_response_head_keeping_every_set_cookie():
    status, headers, cookies = parse_head(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:8000/review/7/\r\n"
        b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nVary: Cookie\r\nVary: Accept"
    )
    assert status == 302 and cookies == ["a=1", "b=2"]
    assert headers["vary"] == "Cookie, Accept"


def test_it_reads_chunked_and_sized_bodies_on_one_kept_alive_connection():
    """A real loopback server answering a sized, then a chunked, then a closing reply: the client
    keeps the connection for the first two and reopens it after the server closes it."""
    replies = [
        b"HTTP/1.1 302 Found\r\nContent-Length: 5\r\nLocation: /review/9/\r\nSet-Cookie: s=1; Path=/\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6\r\npedia!\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew",
    ]
    seen: list[tuple[int, bytes]] = []
    heads: list[bytes] = []

    async def main():
        connections = 0

        async def handle(reader, writer):
            nonlocal connections
            connections += 1
            while replies:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                seen.append((connections, head.split(b"\r\n")[0]))
                writer.write(replies.pop(0))
                await writer.drain()
                if b"Connection: close" in head or b"close" in seen[-1][1]:
                    break
                if len(seen) == 3:
                    break  # the third reply says close: the server hangs up
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client, jar = Connection("127.0.0.1", port), CookieJar()
        first = await client.request("GET", "/review/next/", cookies=jar)
        second = await client.request("GET", "/review/9/", cookies=jar)
        third = await client.request(
            "POST", "/review/9/", cookies=jar, body=b"action=submit", accept="application/json"
        )
        fourth = await client.request("GET", "/", cookies=jar)
        client.close()
        server.close()
        await server.wait_closed()
        return first, second, third, fourth, client.opened, jar

    first, second, third, fourth, opened, jar = run_async(main())
    assert (first.status, first.location, first.body) == (302, "/review/9/", b"hello")
    assert second.body == b"Wikipedia!"
    assert third.body == b"ok" and fourth.body == b"new"
    assert opened == 2
    assert [c for c, _ in seen] == [1, 1, 1, 2]
    assert [b"Accept: application/json" in head for head in heads] == [False, False, True, False]
    assert jar.cookies == {"s": "1"}


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.05ms    1.20ms  99.65ms   90.00%
    Req/Sec     8.70k   500.00     9.10k    70.00%
  Latency Distribution
     50%    3.05ms
     75%    3.50ms
     90%  812.00us
     99%    1.20s
  43221 requests in 5.00s, 400.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   8644.20
Transfer/sec:     80.00MB
"""


def test_it_reads_requests_per_second_percentiles_and_errors_from_wrk():
    rps, p50, p99, errors = load_bench.parse_wrk(WRK_OUTPUT)
    assert rps == 8644.2 and p50 == 3.05 and p99 == 1200.0
    assert errors == "socket connect 0, read 0, write 0, timeout 2, non-2xx/3xx 7"


def test_percentiles_are_nearest_rank():
    samples = [float(i) for i in range(1, 101)]
    assert load_bench.percentile(samples, 0.5) == 50.0
    assert load_bench.percentile(samples, 0.99) == 99.0
    assert load_bench.percentile([], 0.99) == 0.0


def test_the_load_section_replaces_its_own_part_of_the_document_only():
    doc = "# Benchmarks\n\n## Picker\n\nfigures\n\n## Full review cycle and cached pages\n\nold\n\n## After\n\nkept\n"
    assert load_bench.splice(doc, ["## Full review cycle and cached pages", "", "new"]) == (
        "# Benchmarks\n\n## Picker\n\nfigures\n\n## Full review cycle and cached pages\n\nnew\n## After\n\nkept\n"
    )
    assert load_bench.splice("# B\n", [load_bench.SECTION_HEADING, "x"]).endswith(
        "# B\n\n## Full review cycle and cached pages\nx\n"
    )


def test_a_full_run_keeps_the_browser_section_the_browser_bench_wrote():
    """``python -m bench`` rewrites docs/benchmarks.md whole; the browser bench runs apart and its
    section is carried over, under its own heading."""
    old = f"# Benchmarks\n\n## Picker\n\nold\n\n{load_bench.BROWSER_HEADING}\n\nbrowser figures\n"
    kept = load_bench.section(old, load_bench.BROWSER_HEADING)
    assert kept == [load_bench.BROWSER_HEADING, "", "browser figures"]
    new = load_bench.splice("# Benchmarks\n\n## Picker\n\nnew\n", kept, heading=load_bench.BROWSER_HEADING)
    assert new == f"# Benchmarks\n\n## Picker\n\nnew\n\n{load_bench.BROWSER_HEADING}\n\nbrowser figures\n"
    assert load_bench.section("# Benchmarks\n", load_bench.BROWSER_HEADING) == []


def test_the_report_judges_the_js_flow_shows_the_other_beside_and_compares_submitted_with_counted():
    report = load_bench.LoadReport(pages=6000, when="2026-12-02 07:00", submitted=120, counted=119, unknown=1)
    report.alone = _recorder(10, 1.0, [9.0] * 10, 9.5, reviewers=1)
    report.nojs_alone = _recorder(10, 1.0, [4.0, 6.0] * 10, 10.5, reviewers=1)
    report.closed = _recorder(300, 2.0, [50.0] * 300, 50.0, reviewers=64)
    report.nojs_closed = _recorder(100, 1.0, [50.0, 80.0] * 100, 130.0, reviewers=64)
    report.open = _recorder(0, 1.0, [], 0.0, offered=100)
    report.open.errors["no free reviewer (cycle dropped)"] = 100
    report.reads = [
        load_bench.ReadResult("gunicorn", "/", "wrk", 1500.0, 10.0, 40.0, "none", "hit"),
        load_bench.ReadResult("nginx", "/", "wrk", 9000.0, 1.0, 5.0, "none", "nginx"),
    ]
    report.load = {"before": "0.50, 0.40, 0.30"}
    text = "\n".join(report.markdown())
    assert text.startswith(load_bench.SECTION_HEADING)
    assert (
        "| one reviewer alone, with JS: a cycle (p50, over loopback HTTP) <= 12 ms | 9.5 ms "
        "(without JS: 10.5 ms) | met |" in text
    )
    assert (
        "| review cycles with JS, 64 concurrent reviewers >= 150/s | 150.0/s (without JS: 100.0/s) | met |"
        in text
    )
    assert "no free reviewer (cycle dropped) x100 | **missed** |" in text
    assert "| cached home page from the nginx front >= 5,000 req/s | 9,000 req/s | met |" in text
    assert "120 vs 119 (1 unanswered POSTs) | **missed** |" in text
    assert "before: 0.50, 0.40, 0.30" in text
    # Each flow's rows, the JS flow's one request per cycle beside the other's two.
    assert (
        "| with JS: closed loop, 64 reviewers without pauses (2 s after a 4 s warm-up) | 150.0 | 1.00 |"
        in text
    )
    assert (
        "| without JS: closed loop, 64 reviewers without pauses (1 s after a 4 s warm-up) | 100.0 | 2.00 |"
        in text
    )
    assert not report.targets_met()
    assert "reviews submitted (client) 120, in Postgres 119" in report.summary()


def test_a_reply_saying_not_recorded_fails_the_comparison_even_when_the_counts_agree():
    report = load_bench.LoadReport(submitted=5, counted=5, not_recorded=1)
    assert not report.targets_met()
    report.not_recorded = 0
    assert report.targets_met()
