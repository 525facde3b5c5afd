"""A simulated crowd on a 2,000-page release with a known truth: what confidence and retiring
when sure buy (issue 25).

Runs on the same release, the same crowd and the same seed, through the real actions (the
picker's ``pick_next_page``, ``submit_review``, the gold mixing of ``consensus.gold``, the
re-estimation of ``consensus.actions``), not HTTP, so that each runs in about a minute:

- **threshold 3**: every page gets three reviews (today's rule);
- **retire when confident**: the same assignment with ``retire_when_confident`` (target 0.95,
  at least 2 reviews; the threshold, 3, stays the ceiling): the issue's defaults;
- the same at target ``LAX_TARGET``;
- ``ONE_REVIEW_RULES``: a page may leave after one review (targets 0.9 and 0.875), threshold 4;
- threshold 3 and the ``ONE_REVIEW_RULES`` again on other releases and crowds
  (``RELEASE_SEEDS``); those rules' targets are read on the releases pooled.

The crowd: ``CROWD`` reviewers, 80% careful (each tag decision right with probability 0.9), 10%
sloppy (0.65), 10% spammers (each tag applied at random, probability 0.5). Each reviewer is
picked at random to do their next review until the picker has nothing left for anyone. Gold
pages (a document of ``GOLD_PAGES`` known-answer pages outside the assignment) are mixed in at
the tapering rate in both runs, and their reviews are counted in "reviews spent". The model is
re-fitted every ``REESTIMATE_EVERY`` reviews, as the beat schedule would, and the reviewed pages'
confidence re-derived after each review (``consensus.tasks.refresh_reviewed_pages``).

Reported per run: reviews spent, the accuracy of the published tags over every (page, tag) of
the release (majority of the page's reviewers, ties "no"; and confidence >= 0.5), and the ROC
AUC of ``agreement`` (count / reviews) and of ``confidence`` against the truth. Then every
reviewer answers gold pages until they have answered ``GOLD_FOR_WEIGHTS``, the model is
re-fitted, and the mean weight per kind of reviewer is reported (spammers should be near 0).
The run time of the full re-estimation over the threshold-3 run's reviews is reported too.
"""

from __future__ import annotations

import random
import statistics
import time

from bench.consensus_bound import Bound, bounds, oracle_bound, sweep
from bench.consensus_report import ConsensusReport, Rule, Run, auc, rule_name
from bench.consensus_setup import (
    CROWD,
    GOLD_FOR_WEIGHTS,
    GOLD_PAGES,
    HEADING,
    KINDS,
    LAX_TARGET,
    MIN_REVIEWS,
    ONE_REVIEW_RULES,
    PAGES,
    PAGES_PER_DOCUMENT,
    REESTIMATE_EVERY,
    RELEASE_SEEDS,
    SEED,
    TAGS,
    TARGET,
    THRESHOLD,
)

__all__ = ["HEADING", "THRESHOLD", "Bound", "ConsensusReport", "auc", "oracle_bound", "run"]


def _seed(rng: random.Random, *, threshold: int = THRESHOLD) -> dict:
    """An empty bench database but for the release, the gold document, the tags, the crowd."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from assignments import actions as assignment_actions
    from catalogue.models import Tag
    from consensus import actions as consensus_actions
    from lib.redis_client import get_redis

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE reviews_party, reviews_member, reviews_document, reviews_page, reviews_review, "
            "reviews_skip, reviews_tag, assignments_assignment, assignments_pickerstat, auth_user, "
            "consensus_goldanswer, consensus_reliability, consensus_tagprevalence, consensus_estimationrun, "
            "django_session RESTART IDENTITY CASCADE"
        )
    tags = {
        slug: Tag.objects.create(name=slug.replace("-", " ").capitalize(), slug=slug, order=i)
        for i, (slug, _) in enumerate(TAGS)
    }
    documents = PAGES // PAGES_PER_DOCUMENT + 1  # the last one is the gold document
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_document (id, title, source, sha256, page_count, status, error, created, "
            "public, published_at) SELECT d, 'Simulated release ' || d, 'sources/sim-' || d || '.pdf', "
            "md5(d::text) || md5('sim' || d), %(per)s, 'imported', '', now(), true, now() "
            "FROM generate_series(1, %(docs)s) AS d",
            {"per": PAGES_PER_DOCUMENT, "docs": documents},
        )
        c.execute(
            "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count, "
            "public) SELECT n, (n - 1) / %(per)s + 1, (n - 1) %% %(per)s + 1, 'pages/sim-' || n || '.jpg', "
            "'thumbs/sim-' || n || '.jpg', 1400, 1980, 0, true FROM generate_series(1, %(pages)s) AS n",
            {"per": PAGES_PER_DOCUMENT, "pages": PAGES + GOLD_PAGES},
        )
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_page', 'id'), %s)", [PAGES + GOLD_PAGES])
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_document', 'id'), %s)", [documents])
    truth = {
        page: {slug for slug, share in TAGS if rng.random() < share}
        for page in range(1, PAGES + GOLD_PAGES + 1)
    }
    gold_pages = list(range(PAGES + 1, PAGES + GOLD_PAGES + 1))
    for page in gold_pages:
        consensus_actions.set_gold_answer(page_id=page, tag_ids=[tags[s].pk for s in truth[page]])
    assignment = assignment_actions.create_assignment(
        # The gold document too: its pages are out of the assignment's scope (known answers), but
        # a review of them is filed under the assignment the reviewer is working on.
        title="Simulated release",
        slug="simulated",
        threshold=threshold,
        documents=range(1, documents + 1),
    )
    users = get_user_model()
    crowd = []
    for i in range(CROWD):
        share = i / CROWD
        kind = "careful" if share < 0.8 else ("sloppy" if share < 0.9 else "spammer")
        crowd.append((users.objects.create_user(f"sim-{kind}-{i}"), kind))
    get_redis().flushdb()  # the bench's own redis-server: nobody else's data
    call_command("rebuild_denormalisations", verbosity=0)
    return {"assignment": assignment, "truth": truth, "crowd": crowd, "gold": gold_pages}


def _answer(kind: str, right: set[str], rng: random.Random) -> list[str]:
    accuracy = dict((k, a) for k, _, a in KINDS)[kind]
    out = []
    for slug, _ in TAGS:
        applies = slug in right
        # A spammer clicks at random; the others are right with their accuracy.
        right_now = rng.random() < accuracy if accuracy is not None else None
        said = rng.random() < 0.5 if right_now is None else (applies if right_now else not applies)
        if said:
            out.append(slug)
    return out


def simulate(
    name: str,
    *,
    retire: bool,
    target: float = TARGET,
    min_reviews: int = MIN_REVIEWS,
    ceiling: int = THRESHOLD,
    seed: int = SEED,
    rule: Rule | None = None,
) -> Run:
    """One run; ``ceiling`` is the assignment's threshold (with retiring, the most reviews a page
    gets); ``seed`` draws the truth, the answers and the picker's choices."""
    from assignments import actions as assignment_actions
    from assignments.models import Assignment, RetiredPage
    from assignments.picker import pick_next_page
    from catalogue.models import Page
    from consensus import actions as consensus_actions
    from consensus import selectors as consensus_selectors
    from consensus.models import EstimationRun, Reliability
    from reviews.actions import submit_review
    from reviews.models import PageTag

    rng = random.Random(seed)
    random.seed(seed)  # the picker's own draws and the gold mixing's
    world = _seed(rng, threshold=ceiling)
    assignment, truth, crowd = world["assignment"], world["truth"], world["crowd"]
    if retire:
        assignment = assignment_actions.set_retirement(
            assignment_id=assignment.pk,
            retire_when_confident=True,
            confidence_target=target,
            min_reviews=min_reviews,
        )
    run = Run(name=name, seed=seed, rule=rule if retire else None)
    started = time.monotonic()
    active = list(range(len(crowd)))
    busy = 0
    # Re-fit after every REESTIMATE_EVERY reviews, gold ones included, whichever kind lands on the
    # mark (checking only after ordinary reviews skipped the re-fit whenever a gold one did).
    next_fit = REESTIMATE_EVERY
    while active:
        who = rng.choice(active)
        user, kind = crowd[who]
        # The picker mixes gold pages in itself (settings.PICKER_GOLD_HOOK, seeded through
        # Python's random module above).
        picked = pick_next_page(assignment=assignment, reviewer=user)
        if picked.source == "gold" and picked.page_id is not None:
            submit_review(
                reviewer=user, page_id=picked.page_id, tag_slugs=_answer(kind, truth[picked.page_id], rng)
            )
            run.gold_reviews += 1
        else:
            if picked.page_id is None:
                if picked.source == "busy" and busy < 1000:
                    busy += 1
                    continue
                active.remove(who)
                continue
            submit_review(
                reviewer=user, page_id=picked.page_id, tag_slugs=_answer(kind, truth[picked.page_id], rng)
            )
            # The beat task that re-derives reviewed pages (every 5 s on the site), run after each
            # review here: the best case for retiring (on the site a few more reviews may go to a
            # page in the seconds before it retires).
            consensus_actions.refresh_reviewed_pages()
            run.reviews += 1
        if run.reviews + run.gold_reviews >= next_fit:
            consensus_actions.reestimate()
            next_fit += REESTIMATE_EVERY
    fitted = consensus_actions.reestimate()
    assert EstimationRun.objects.count() == run.spent // REESTIMATE_EVERY + 1, (
        "a scheduled re-fit was skipped"
    )
    run.reestimate_seconds, run.reestimate_reviews = fitted.seconds, fitted.reviews
    run.seconds = time.monotonic() - started
    run.retired = RetiredPage.objects.filter(assignment=assignment).count()
    assert Assignment.objects.get(pk=assignment.pk).completed_count == PAGES, "the release is not done"

    release = list(range(1, PAGES + 1))
    reviews = dict(Page.objects.filter(pk__in=release).values_list("pk", "review_count"))
    counts = {
        (p, s): n
        for p, s, n in PageTag.objects.filter(page_id__in=release).values_list(
            "page_id", "tag__slug", "count"
        )
    }
    slug_of = {t.pk: t.slug for t in consensus_selectors_tags()}
    confidence: dict[tuple[int, str], float] = {}
    for start in range(0, len(release), 500):
        for page, by_tag in consensus_selectors.page_tag_confidences(release[start : start + 500]).items():
            for tag_id, c in by_tag.items():
                confidence[(page, slug_of[tag_id])] = c
    labels, agreements, confidences = [], [], []
    majority_right = confidence_right = 0
    for page in release:
        for slug, _ in TAGS:
            applies = slug in truth[page]
            n = counts.get((page, slug), 0)
            agreement = n / reviews[page] if reviews[page] else 0.0
            c = confidence[(page, slug)]
            labels.append(applies)
            agreements.append(agreement)
            confidences.append(c)
            majority_right += (2 * n > reviews[page]) == applies
            confidence_right += (c >= 0.5) == applies
            run.right_by_page[page] = run.right_by_page.get(page, 0) + ((c >= 0.5) == applies)
    total = len(labels)
    run.majority_accuracy = majority_right / total
    run.confidence_accuracy = confidence_right / total
    run.auc_agreement = auc(agreements, labels)
    run.auc_confidence = auc(confidences, labels)

    # Weights after GOLD_FOR_WEIGHTS gold pages each (through the real action).
    gold_pages = world["gold"]
    for user, kind in crowd:
        seen = set(user.reviews.filter(page_id__in=gold_pages).values_list("page_id", flat=True))
        for page in [p for p in gold_pages if p not in seen][: max(0, GOLD_FOR_WEIGHTS - len(seen))]:
            submit_review(
                reviewer=user, page_id=page, tag_slugs=_answer(kind, truth[page], rng), only_open_pages=False
            )
    consensus_actions.reestimate()
    by_user: dict[int, list[float]] = {}
    for user_id, weight in Reliability.objects.values_list("user_id", "weight"):
        by_user.setdefault(user_id, []).append(weight)
    for kind, _, _ in KINDS:
        ws = [statistics.mean(by_user[u.pk]) for u, k in crowd if k == kind and u.pk in by_user]
        run.weights[kind] = statistics.mean(ws) if ws else 0.0
    print(f"consensus bench: {name} done in {run.seconds:.0f} s", flush=True)
    return run


def consensus_selectors_tags():
    from catalogue.models import Tag

    return list(Tag.objects.all())


def run() -> ConsensusReport:
    report = ConsensusReport(bounds=bounds(), swept=sweep())
    report.runs.append(simulate(f"threshold {THRESHOLD}", retire=False))
    report.runs.append(
        simulate(
            rule_name((TARGET, MIN_REVIEWS, THRESHOLD)), retire=True, rule=(TARGET, MIN_REVIEWS, THRESHOLD)
        )
    )
    learned = report.retiring.weights
    report.bounds.append(
        oracle_bound(
            f"retire ({TARGET}, at least {MIN_REVIEWS}, ceiling {THRESHOLD}), the crowd, with the mean weights "
            "the retiring run learned (" + ", ".join(f"{kind} {w:.2f}" for kind, w in learned.items()) + ")",
            target=TARGET,
            weights=learned,
        )
    )
    # What a laxer target buys and costs; then leaving after one trusted review, on every release.
    report.runs.append(
        simulate(
            rule_name((LAX_TARGET, MIN_REVIEWS, THRESHOLD)),
            retire=True,
            target=LAX_TARGET,
            rule=(LAX_TARGET, MIN_REVIEWS, THRESHOLD),
        )
    )
    for seed in RELEASE_SEEDS:
        runs = report.runs if seed == SEED else report.others
        if seed != SEED:
            runs.append(simulate(f"threshold {THRESHOLD}, seed {seed}", retire=False, seed=seed))
        for rule in ONE_REVIEW_RULES:
            target, at_least, ceiling = rule
            runs.append(
                simulate(
                    rule_name(rule) + ("" if seed == SEED else f", seed {seed}"),
                    retire=True,
                    target=target,
                    min_reviews=at_least,
                    ceiling=ceiling,
                    seed=seed,
                    rule=rule,
                )
            )
    return report
