"""How far retiring when sure can go on the simulated release (bench/consensus_sim.py), whatever
the estimate: the same crowd and tags drawn in plain Python with every reviewer's accuracy and every
tag's prevalence known exactly, through ``consensus.model``'s own posterior. No database: a few
seconds for 50,000 pages a rule."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.consensus_setup import KINDS, LAX_TARGET, MIN_REVIEWS, SEED, TAGS, TARGET, THRESHOLD

BOUND_PAGES = 50_000
# The rules the sweep tries (target, at least, ceiling): every target an editor might pick, a
# minimum of 1 or 2 reviews, and ceilings from the threshold to two above it.
SWEEP_TARGETS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99)
SWEEP_MIN_REVIEWS = (1, 2)
SWEEP_CEILINGS = (THRESHOLD, THRESHOLD + 1, THRESHOLD + 2)


@dataclass
class Bound:
    name: str
    reviews_per_page: float
    accuracy: float
    # Tags right per page (for paired comparisons between rules on the same draws).
    right_by_page: list[int] = field(default_factory=list, repr=False)

    @property
    def saving(self) -> float:
        return 1 - self.reviews_per_page / THRESHOLD


def _draws(
    kinds: list[tuple[str, float, float | None]], pages: int, seed: int, slots: int
) -> Iterator[tuple[list[bool], list[tuple[str, float, list[bool]]]]]:
    """Per page: the truth of each tag and ``slots`` reviews (kind, accuracy, answers), drawn
    with the same random numbers whatever rule later reads them: every rule sees the same pages
    and the same reviewers in the same order (common random numbers), so their accuracies can be
    compared page by page."""
    rng = random.Random(seed)
    total_share = sum(share for _, share, _ in kinds)
    for _ in range(pages):
        truth = [rng.random() < share for _, share in TAGS]
        reviews = []
        for _ in range(slots):
            draw, accuracy, chosen = rng.random() * total_share, 0.5, ""
            for kind, share, kind_accuracy in kinds:
                if draw < share:
                    accuracy, chosen = 0.5 if kind_accuracy is None else kind_accuracy, kind
                    break
                draw -= share
            answers = [applies if rng.random() < accuracy else not applies for applies in truth]
            reviews.append((chosen, accuracy, answers))
        yield truth, reviews


def oracle_bound(
    name: str,
    *,
    target: float | None,
    min_reviews: int = MIN_REVIEWS,
    ceiling: int = THRESHOLD,
    kinds: list[tuple[str, float, float | None]] = KINDS,
    pages: int = BOUND_PAGES,
    seed: int = SEED,
    weights: dict[str, float] | None = None,
) -> Bound:
    """Reviews per page and accuracy if every reviewer's accuracy and every tag's prevalence were
    known exactly (``consensus.model``'s own posterior and weights): the best any estimate can do
    under the rule. ``target`` None: no retirement, every page gets ``ceiling`` reviews. Each
    review is by a reviewer drawn from ``kinds`` (shares renormalised), each tag independent.
    ``weights``: kind -> the weight to give that kind's votes instead of the exact one (to ask
    what the weights a run learned cost). Rules given the same ``kinds``, ``pages`` and ``seed``
    read the same draws."""
    from consensus import model

    slots = max((ceiling, *SWEEP_CEILINGS))
    spent = 0
    right_by_page = []
    for truth, reviews in _draws(kinds, pages, seed, slots):
        log_odds = [model.logit(share) for _, share in TAGS]
        used = 0
        for kind, accuracy, answers in reviews:
            w = model.weight(accuracy) if weights is None else weights[kind]
            for i, said in enumerate(answers):
                log_odds[i] += w if said else -w
            used += 1
            if used >= ceiling:
                break
            # As consensus.actions.may_retire: after one review, only a confidently untagged page.
            sure = target is not None and all(
                c < 1 - target or (c > target and used > 1) for c in map(model.sigmoid, log_odds)
            )
            if sure and used >= min_reviews:
                break
        spent += used
        right_by_page.append(sum((x >= 0) == applies for x, applies in zip(log_odds, truth, strict=True)))
    return Bound(
        name=name,
        reviews_per_page=spent / pages,
        accuracy=sum(right_by_page) / (pages * len(TAGS)),
        right_by_page=right_by_page,
    )


@dataclass
class Sweep:
    """The rule of :data:`SWEEP_TARGETS` x :data:`SWEEP_MIN_REVIEWS` x :data:`SWEEP_CEILINGS`
    that saves most while being as accurate as threshold 3 on the same draws, with exact
    reliabilities; ``rules`` is how many were tried and ``best_any`` the most any of them saves
    at whatever accuracy."""

    rules: int
    best: Bound | None
    best_any: Bound
    best_at_least_2: Bound | None  # the same, among the rules that wait for 2 reviews


def sweep(pages: int = BOUND_PAGES) -> Sweep:
    fixed = oracle_bound("threshold", target=None, pages=pages)
    best: Bound | None = None
    best_any: Bound | None = None
    best_two: Bound | None = None
    rules = 0
    for target in SWEEP_TARGETS:
        for min_reviews in SWEEP_MIN_REVIEWS:
            for ceiling in SWEEP_CEILINGS:
                rules += 1
                bound = oracle_bound(
                    f"retire ({target}, at least {min_reviews}, ceiling {ceiling}), the crowd",
                    target=target,
                    min_reviews=min_reviews,
                    ceiling=ceiling,
                    pages=pages,
                )
                if best_any is None or bound.saving > best_any.saving:
                    best_any = bound
                # As accurate on the very same pages: tags right, summed over the draws.
                if sum(bound.right_by_page) >= sum(fixed.right_by_page):
                    if best is None or bound.saving > best.saving:
                        best = bound
                    if min_reviews >= 2 and (best_two is None or bound.saving > best_two.saving):
                        best_two = bound
    assert best_any is not None
    return Sweep(rules=rules, best=best, best_any=best_any, best_at_least_2=best_two)


def bounds() -> list[Bound]:
    careful_only = [kind for kind in KINDS if kind[0] == "careful"]
    return [
        oracle_bound(f"threshold {THRESHOLD}, the crowd", target=None),
        oracle_bound(
            f"retire ({TARGET}, at least {MIN_REVIEWS}, ceiling {THRESHOLD}), the crowd", target=TARGET
        ),
        oracle_bound(
            f"retire ({LAX_TARGET}, at least {MIN_REVIEWS}, ceiling {THRESHOLD}), the crowd",
            target=LAX_TARGET,
        ),
        oracle_bound(
            f"retire ({TARGET}, at least {MIN_REVIEWS}, ceiling {THRESHOLD}), careful reviewers only",
            target=TARGET,
            kinds=careful_only,
        ),
        oracle_bound(
            f"retire ({TARGET}, at least 1, ceiling {THRESHOLD}), the crowd", target=TARGET, min_reviews=1
        ),
    ]
