"""The crowd model: how much to trust each reviewer, and how sure the crowd is of a page's tag.

Pure functions, no database: the actions feed them votes and store what they return, the
simulation bench and the tests call them directly.

One-coin Dawid-Skene per tag (crowd-kit's ``OneCoinDawidSkene``; Marshall et al.'s SWAP uses a
confusion matrix per volunteer in the same way). For one tag, every page either has it or not
(``z``); a reviewer with accuracy ``a`` gives the right answer with probability ``a`` whatever
the truth. So each vote moves a page's log-odds by ``±log(a / (1 - a))``: the reviewer's
*weight*. A spammer clicking at random has ``a ≈ 0.5`` and weight ≈ 0; a careful reviewer at 0.9
weighs 2.2, as much as nine of them at 0.55.

Accuracy has a Beta prior worth ``PRIOR_CORRECT + PRIOR_WRONG`` (5) answers imagined before the
first review, so one lucky gold page does not make an oracle. Its mean is the crowd's record on
gold pages for this tag (every *other* reviewer's gold answers, with ``PRIOR_CORRECT`` right and
``PRIOR_WRONG`` wrong added: 0.6 until editors' known answers say otherwise). Why not a fixed
0.6: early in a release most pages have one or two reviews, and there the votes cannot tell "the
tag is common and reviewers are good" from "the tag is rare and reviewers are poor" (both give
the same share of yes votes); a prior that called everyone poor tipped EM into the second: after
795 reviews of the consensus bench's 2,000-page release it put receipt (on 30% of pages) at 3.6%
and claim-form (20%) at 1%, so a page two reviewers had tagged showed a low confidence. The
crowd's gold record settles it from the first few hundred reviews
(``tests/consensus/test_model.py``). Leaving each reviewer's own gold out of their prior keeps
it from being counted twice. It is estimated from

- gold (known-answer) pages, whose truth editors set: each vote there is simply right or wrong;
- ordinary pages by expectation-maximisation: the expected number of right answers given the
  current posteriors of the pages they reviewed, alternating with re-computing those posteriors
  from the current weights until nothing moves.

The tag's prevalence has a prior too: what the crowd's record on gold pages says of it
(``gold_anchor``), for pages with one vote, all there is early in a release, fit any prevalence.

A reviewer worse than chance gets weight 0, not a negative one: reading a saboteur backwards
would reward whoever learns to game it, and costs little accuracy.

Cost: ``O(iterations × votes)`` per tag, plain Python (a 2,000-page release with ~6,000 reviews
and three tags takes well under a second).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

PRIOR_CORRECT = 3.0
PRIOR_WRONG = 2.0
# Beta(1, 1) on how common the tag is among ordinary pages.
PRIOR_PRESENT = 1.0
PRIOR_ABSENT = 1.0
MAX_ITERATIONS = 100
TOLERANCE = 1e-7
# Log-odds are clamped so that a posterior never rounds to exactly 0 or 1 (a later vote can
# always still move it) and exp() never overflows.
MAX_LOG_ODDS = 30.0


@dataclass(frozen=True)
class Vote:
    """One reviewer's answer about one tag on one page: ``value`` is True when they applied it."""

    item: Hashable
    worker: Hashable
    value: bool


@dataclass(frozen=True)
class Skill:
    """What the model believes of one reviewer for one tag."""

    accuracy: float
    gold_correct: int = 0
    gold_total: int = 0
    # Expected right answers on ordinary pages, and how many ordinary votes.
    expected_correct: float = 0.0
    votes: int = 0

    @property
    def weight(self) -> float:
        return weight(self.accuracy)


# The prevalence assumed for a tag never estimated: even odds, the votes alone decide.
NEUTRAL_PREVALENCE = 0.5

# A reviewer the last re-fit has not seen yet (no reliability row) counts at this weight until
# the next one: modest whatever the crowd's gold record, so an account made a minute ago cannot
# retire pages or move confidence much before the model has looked at its answers.
NEWCOMER = Skill(accuracy=PRIOR_CORRECT / (PRIOR_CORRECT + PRIOR_WRONG))


@dataclass
class Estimate:
    """The outcome of :func:`estimate` for one tag."""

    skills: dict[Hashable, Skill] = field(default_factory=dict)
    prevalence: float = PRIOR_PRESENT / (PRIOR_PRESENT + PRIOR_ABSENT)
    posteriors: dict[Hashable, float] = field(default_factory=dict)  # ordinary items only
    iterations: int = 0
    # The prior mean of a reviewer with no gold answers of their own: the crowd's gold record.
    prior_accuracy: float = NEWCOMER.accuracy

    def skill(self, worker: Hashable) -> Skill:
        return self.skills.get(worker) or Skill(accuracy=self.prior_accuracy)


@dataclass(frozen=True)
class Anchor:
    """What the gold pages say of how common a tag is among ordinary pages: a Beta prior on the
    prevalence worth ``pages`` pages."""

    prevalence: float
    pages: float

    @property
    def present(self) -> float:
        return self.prevalence * self.pages


# An anchor never says a tag is impossible or certain.
ANCHOR_BOUND = 0.001


def gold_anchor(
    gold_yes: dict[bool, list[int]], by_item: dict[Hashable, list[tuple[Hashable, bool]]]
) -> Anchor | None:
    """The prevalence the crowd's votes on ordinary pages imply, read through its record on gold
    pages; None without gold votes (or a crowd no better than chance on them).

    Why: a page with one vote says nothing about how common the tag is. Any prevalence explains
    it, once each reviewer's accuracy moves along with it (P(yes) = πa + (1 − π)(1 − a)), and
    early in a release every page has one vote: the picker gives each page its first review
    before any page its second. Plain EM drifted along that ridge towards "rare". On the
    consensus bench, after 1,000 and 2,000 reviews, it put investigate-this (on about 5% of the
    pages reviewed) at 0.6% and 0.5%, so a page a careful reviewer had tagged showed about 4%
    confidence instead of about 30%. With this prior, in the same place: 2.7% and 2.0%.

    The gold pages are where the tie can be broken. There the crowd says yes at a rate ``s``
    where the tag applies and ``f`` where it does not (each with the reviewers' prior, 3 right
    in 5, added). On ordinary pages its yes rate is ``y = π s + (1 − π) f``, so
    ``π = (y − f) / (s − f)``: a method of moments. It is a Beta prior worth as many pages as
    there were gold votes behind it; pages with two votes or more outweigh it as they come in.
    For a rare tag it is noisy while gold votes are few (``f`` is known to a couple of points
    from 250 votes, and ``y - f`` is about 3 points), so it is a prior, not a value."""
    (s_yes, s_total), (f_yes, f_total) = gold_yes[True], gold_yes[False]
    votes = sum(len(answers) for answers in by_item.values())
    if not votes or not s_total + f_total:
        return None
    prior_total = PRIOR_CORRECT + PRIOR_WRONG
    s = (s_yes + PRIOR_CORRECT) / (s_total + prior_total)
    f = (f_yes + PRIOR_WRONG) / (f_total + prior_total)
    if s <= f:
        return None
    y = sum(value for answers in by_item.values() for _, value in answers) / votes
    prevalence = min(max((y - f) / (s - f), ANCHOR_BOUND), 1.0 - ANCHOR_BOUND)
    return Anchor(prevalence=prevalence, pages=float(s_total + f_total))


def weight(accuracy: float) -> float:
    """The log-likelihood ratio of one vote by a reviewer of this accuracy (0 at or below chance)."""
    if accuracy <= 0.5:
        return 0.0
    if accuracy >= 1.0:
        return MAX_LOG_ODDS
    return math.log(accuracy / (1.0 - accuracy))


def logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    x = min(max(x, -MAX_LOG_ODDS), MAX_LOG_ODDS)
    return 1.0 / (1.0 + math.exp(-x))


def posterior(votes: Iterable[tuple[bool, float]], *, prevalence: float) -> float:
    """P(the tag applies | these votes): ``votes`` are ``(applied, weight)`` pairs."""
    log_odds = logit(prevalence)
    for applied, w in votes:
        log_odds += w if applied else -w
    return sigmoid(log_odds)


def estimate(
    votes: Iterable[Vote],
    *,
    gold: dict[Hashable, bool] | None = None,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> Estimate:
    """Reviewers' accuracies, the tag's prevalence and every ordinary page's posterior, by EM.

    ``gold``: item -> truth for the known-answer pages: their votes train accuracies directly and
    they get no posterior (and do not count toward prevalence: editors chose them, not chance).
    """
    gold = gold or {}
    by_item: dict[Hashable, list[tuple[Hashable, bool]]] = defaultdict(list)
    gold_score: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0])  # worker -> [correct, total]
    # The crowd's yes votes on gold pages, [yes, total], where the tag applies and where it does not.
    gold_yes = {True: [0, 0], False: [0, 0]}
    for vote in votes:
        if vote.item in gold:
            score = gold_score[vote.worker]
            score[0] += int(vote.value == gold[vote.item])
            score[1] += 1
            gold_yes[gold[vote.item]][0] += int(vote.value)
            gold_yes[gold[vote.item]][1] += 1
        else:
            by_item[vote.item].append((vote.worker, vote.value))
    workers = set(gold_score) | {w for answers in by_item.values() for w, _ in answers}
    prior_total = PRIOR_CORRECT + PRIOR_WRONG
    crowd_right = sum(right for right, _ in gold_score.values())
    crowd_total = sum(total for _, total in gold_score.values())

    def prior_right(worker: Hashable) -> float:
        """The imagined right answers of ``worker``'s prior: ``prior_total`` answers at the mean
        of everyone else's gold record."""
        own_right, own_total = gold_score.get(worker, (0, 0))
        mean = (PRIOR_CORRECT + crowd_right - own_right) / (prior_total + crowd_total - own_total)
        return prior_total * mean

    def skills_from(posteriors: dict[Hashable, float]) -> dict[Hashable, Skill]:
        expected: dict[Hashable, float] = defaultdict(float)
        counts: dict[Hashable, int] = defaultdict(int)
        for item, answers in by_item.items():
            p = posteriors[item]
            for worker, value in answers:
                expected[worker] += p if value else 1.0 - p
                counts[worker] += 1
        out = {}
        for worker in workers:
            g_correct, g_total = gold_score.get(worker, (0, 0))
            right = prior_right(worker) + g_correct + expected[worker]
            total = prior_total + g_total + counts[worker]
            out[worker] = Skill(
                accuracy=right / total,
                gold_correct=g_correct,
                gold_total=g_total,
                expected_correct=expected[worker],
                votes=counts[worker],
            )
        return out

    def posteriors_from(skills: dict[Hashable, Skill], prevalence: float) -> dict[Hashable, float]:
        return {
            item: posterior(((value, skills[w].weight) for w, value in answers), prevalence=prevalence)
            for item, answers in by_item.items()
        }

    # The prevalence's prior: Beta(1, 1), plus the gold pages' anchor when there is one.
    anchor = gold_anchor(gold_yes, by_item) or Anchor(prevalence=0.5, pages=0.0)

    def prevalence_from(posteriors: dict[Hashable, float]) -> float:
        present = PRIOR_PRESENT + anchor.present + sum(posteriors.values())
        return present / (PRIOR_PRESENT + PRIOR_ABSENT + anchor.pages + len(posteriors))

    # Start from the majority's view (each page's share of votes), as crowd-kit does: a start
    # from the prior alone would let a first EM step trust everyone equally, which is the same.
    posteriors = {
        item: (sum(value for _, value in answers) + 0.5) / (len(answers) + 1.0)
        for item, answers in by_item.items()
    }
    prevalence = prevalence_from(posteriors)
    skills = skills_from(posteriors)
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported below)
        new_posteriors = posteriors_from(skills, prevalence)
        new_prevalence = prevalence_from(new_posteriors)
        moved = max((abs(new_posteriors[i] - posteriors[i]) for i in by_item), default=0.0)
        moved = max(moved, abs(new_prevalence - prevalence))
        posteriors, prevalence = new_posteriors, new_prevalence
        skills = skills_from(posteriors)
        if moved < tolerance:
            break
    return Estimate(
        skills=skills,
        prevalence=prevalence,
        posteriors=posteriors,
        iterations=iterations,
        prior_accuracy=(PRIOR_CORRECT + crowd_right) / (prior_total + crowd_total),
    )
