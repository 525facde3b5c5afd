"""How far retiring when sure can go on the simulated release (bench/consensus_sim.py), whatever
the estimate: the same crowd and tags drawn in plain Python with every reviewer's accuracy and every
tag's prevalence known exactly, through ``consensus.model``'s own posterior. No database: a few
seconds for 50,000 pages a rule."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.consensus_setup import KINDS, LAX_TARGET, MIN_REVIEWS, SEED, TAGS, TARGET, THRESHOLD

BOUND_PAGES = 50_000


@dataclass
class Bound:
    name: str
    reviews_per_page: float
    accuracy: float

    @property
    def saving(self) -> float:
        return 1 - self.reviews_per_page / THRESHOLD


def oracle_bound(
    name: str,
    *,
    target: float | None,
    min_reviews: int = MIN_REVIEWS,
    kinds: list[tuple[str, float, float | None]] = KINDS,
    pages: int = BOUND_PAGES,
    seed: int = SEED,
    weights: dict[str, float] | None = None,
) -> Bound:
    """Reviews per page and accuracy if every reviewer's accuracy and every tag's prevalence were
    known exactly (``consensus.model``'s own posterior and weights): the best any estimate can do
    under the rule. ``target`` None: no retirement, every page gets ``THRESHOLD`` reviews. Each
    review is by a reviewer drawn from ``kinds`` (shares renormalised), each tag independent.
    ``weights``: kind -> the weight to give that kind's votes instead of the exact one (to ask
    what the weights a run learned cost)."""
    from consensus import model

    rng = random.Random(seed)
    total_share = sum(share for _, share, _ in kinds)
    spent = right = 0
    for _ in range(pages):
        truth = [rng.random() < share for _, share in TAGS]
        log_odds = [model.logit(share) for _, share in TAGS]
        reviews = 0
        while True:
            draw, accuracy, chosen = rng.random() * total_share, 0.5, ""
            for kind, share, kind_accuracy in kinds:
                if draw < share:
                    accuracy, chosen = 0.5 if kind_accuracy is None else kind_accuracy, kind
                    break
                draw -= share
            w = model.weight(accuracy) if weights is None else weights[chosen]
            for i, applies in enumerate(truth):
                said = applies if rng.random() < accuracy else not applies
                log_odds[i] += w if said else -w
            reviews += 1
            if reviews >= THRESHOLD:
                break
            confidences = [model.sigmoid(x) for x in log_odds]
            if (
                target is not None
                and reviews >= min_reviews
                and all(c > target or c < 1 - target for c in confidences)
            ):
                break
        spent += reviews
        right += sum((x >= 0) == applies for x, applies in zip(log_odds, truth, strict=True))
    return Bound(name=name, reviews_per_page=spent / pages, accuracy=right / (pages * len(TAGS)))


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
