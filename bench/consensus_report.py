"""The consensus bench's report (bench/consensus_sim.py runs the simulation): per run, what it
spent and how accurate it was; the targets of issue 25; the markdown of `docs/benchmarks.md`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.consensus_bound import BOUND_PAGES, SWEEP_CEILINGS, SWEEP_MIN_REVIEWS, SWEEP_TARGETS, Bound, Sweep
from bench.consensus_setup import (
    CROWD,
    GOLD_FOR_WEIGHTS,
    GOLD_PAGES,
    HEADING,
    PAGES,
    REESTIMATE_EVERY,
    SEED,
    TAGS,
)


@dataclass
class Run:
    name: str
    reviews: int = 0  # of release pages
    gold_reviews: int = 0
    seconds: float = 0.0
    retired: int = 0
    majority_accuracy: float = 0.0
    confidence_accuracy: float = 0.0
    auc_agreement: float = 0.0
    auc_confidence: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)  # kind -> mean weight, after gold
    reestimate_seconds: float = 0.0
    reestimate_reviews: int = 0
    # page -> how many of its tags confidence >= 0.5 got right (for the paired comparison).
    right_by_page: dict[int, int] = field(default_factory=dict)

    @property
    def spent(self) -> int:
        return self.reviews + self.gold_reviews


@dataclass
class ConsensusReport:
    runs: list[Run] = field(default_factory=list)

    @property
    def fixed(self) -> Run:
        return self.runs[0]

    @property
    def retiring(self) -> Run:
        return self.runs[1]

    bounds: list[Bound] = field(default_factory=list)
    swept: Sweep | None = None

    def saving(self, run: Run | None = None) -> float:
        return 1 - (run or self.retiring).spent / self.fixed.spent

    def accuracy_difference(self, run: Run | None = None) -> tuple[float, float]:
        """A retiring run's accuracy (confidence >= 0.5; the default rule's unless ``run``) minus
        threshold 3's, and the standard error of that difference, paired by page (the same
        release and truth in both runs)."""
        fixed, retiring = self.fixed.right_by_page, (run or self.retiring).right_by_page
        diffs = [(retiring[p] - fixed[p]) / len(TAGS) for p in fixed]
        return statistics.mean(diffs), statistics.stdev(diffs) / len(diffs) ** 0.5

    def targets(self) -> dict[str, bool]:
        fixed, retiring = self.fixed, self.retiring
        return {
            "at least 25% fewer reviews": self.saving() >= 0.25,
            "equal or better accuracy (confidence >= 0.5)": retiring.confidence_accuracy
            >= fixed.confidence_accuracy,
            "accuracy (confidence >= 0.5) no worse beyond noise (difference above -2 standard errors)": (
                self.accuracy_difference()[0] > -2 * self.accuracy_difference()[1]
            ),
            "equal or better accuracy than threshold 3's majority": retiring.confidence_accuracy
            >= fixed.majority_accuracy,
            "confidence's AUC above agreement's": all(
                r.auc_confidence > r.auc_agreement for r in self.runs[:2]
            ),
            "spammers' weight near zero (< 0.25) after 20 gold pages": retiring.weights.get("spammer", 9)
            < 0.25,
        }

    def targets_met(self) -> bool:
        return all(self.targets().values())

    def summary(self) -> str:
        lines = []
        for r in self.runs:
            lines.append(
                f"{r.name}: {r.spent:,} reviews ({r.reviews:,} + {r.gold_reviews:,} gold, {r.retired:,} pages "
                f"retired) in {r.seconds:.0f} s; accuracy majority {r.majority_accuracy:.4f}, confidence "
                f"{r.confidence_accuracy:.4f}; AUC agreement {r.auc_agreement:.4f}, confidence "
                f"{r.auc_confidence:.4f}; weights {', '.join(f'{k} {v:.2f}' for k, v in r.weights.items())}"
            )
        difference, error = self.accuracy_difference()
        lines.append(f"accuracy difference (retiring - threshold 3) {difference:+.4f} +/- {error:.4f} (SE)")
        lines += [
            f"bound: {b.name}: {b.saving:.1%} fewer reviews, accuracy {b.accuracy:.4f}" for b in self.bounds
        ]
        lines.append(f"saving {self.saving():.1%}; targets: {self.targets()}")
        return "\n".join(lines)

    def markdown(self) -> list[str]:
        fixed = self.fixed
        lines = [
            HEADING,
            "",
            "Written by `python -m bench --consensus-only` (`bench/consensus_sim.py`) on this machine. "
            f"A release of {PAGES:,} pages with a known truth for {len(TAGS)} tags (how common: "
            + ", ".join(f"{slug} {p:.0%}" for slug, p in TAGS)
            + f"); {CROWD} reviewers: 80% careful (each tag right with probability 0.9), 10% sloppy "
            "(0.65), 10% spammers (each tag at random); each picked at random for their next page "
            "until nothing is left, through `pick_next_page` and `submit_review`; "
            f"{GOLD_PAGES} gold pages mixed in at 20% of a reviewer's first 20 reviews, then 5% (both "
            f"runs); the model re-fitted every {REESTIMATE_EVERY:,} reviews and each reviewed page re-derived "
            f"after its review (the beat task's best case). Seed {SEED}. Wall seconds: the reviewing and the last re-fit, "
            "on 2 cores shared with other work.",
            "",
            "| run | reviews spent | of which gold | pages retired early | accuracy, majority | "
            "accuracy, confidence >= 0.5 | AUC agreement | AUC confidence | wall s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.runs:
            lines.append(
                f"| {r.name} | {r.spent:,} | {r.gold_reviews:,} | {r.retired:,} | {r.majority_accuracy:.4f} | "
                f"{r.confidence_accuracy:.4f} | {r.auc_agreement:.4f} | {r.auc_confidence:.4f} | {r.seconds:.0f} |"
            )
        weights = self.retiring.weights
        difference, error = self.accuracy_difference()
        lines += [
            "",
            f"Reviews saved by retiring when confident with the issue's defaults: **{self.saving():.1%}** "
            "of threshold 3's.",
            "",
            f"Accuracy (confidence >= 0.5), retiring minus threshold 3: {difference:+.4f}, standard error "
            f"{error:.4f} (paired by page over the {PAGES:,} pages)"
            + (": no difference this run can measure either way." if abs(difference) < 2 * error else "."),
            "",
        ]
        lines += [
            f"Not targets, for editors choosing a rule: {r.name} saves {self.saving(r):.1%}, accuracy "
            f"{self.accuracy_difference(r)[0]:+.4f} (standard error {self.accuracy_difference(r)[1]:.4f})."
            for r in self.runs[2:]
        ]
        lines += [
            "",
            "**How far retiring can go.** The same crowd and tags drawn in plain Python "
            f"({BOUND_PAGES:,} pages each), with every reviewer's accuracy and every tag's prevalence "
            "known exactly instead of estimated (no estimate can do better), gold left out; savings "
            "against three reviews a page. Rules on the same crowd read the same draws, so their "
            "accuracies compare page by page:",
            "",
            "| rule, crowd | reviews per page | fewer reviews than threshold 3 | accuracy, confidence >= 0.5 |",
            "|---|---|---|---|",
            *[
                f"| {b.name} | {b.reviews_per_page:.3f} | {b.saving:.1%} | {b.accuracy:.4f} |"
                for b in self.bounds
            ],
            "",
        ]
        if self.swept:
            sw = self.swept

            def said(b: Bound | None) -> str:
                return "none" if b is None else f"{b.saving:.1%} ({b.name}, accuracy {b.accuracy:.4f})"

            lines += [
                f"Every rule of targets {', '.join(map(str, SWEEP_TARGETS))}, at least "
                f"{' or '.join(map(str, SWEEP_MIN_REVIEWS))} reviews and ceilings "
                f"{', '.join(map(str, SWEEP_CEILINGS))} ({sw.rules} rules), exact reliabilities: the most "
                f"any saves at accuracy equal or better than threshold 3's on the same pages is "
                f"{said(sw.best)}; among those waiting for 2 reviews, {said(sw.best_at_least_2)}; at "
                f"any accuracy, {said(sw.best_any)}.",
                "",
                "Why: a page can leave early only where the reviews in agree on every tag firmly "
                "enough. With at least 2 reviews and a ceiling of 3 a page saves at most one review, "
                "and two careful reviewers (each tag right 9 times in 10) agree on all three tags "
                "only 55% of the time, so no rule waiting for two reviews, however well it knows the "
                "crowd, saves a quarter. Letting a page leave after one trusted review, with a "
                "fourth review for the pages the crowd is unsure of, can save more and be more "
                "accurate, but only with reliabilities known exactly: the simulated one-review run "
                "above shows what it does with reliabilities learned as the crowd works.",
                "",
            ]
        lines += [
            f"Mean weight (log-odds per vote, averaged over tags) after every reviewer answered "
            f"{GOLD_FOR_WEIGHTS} gold pages and the model was re-fitted: "
            + ", ".join(f"{kind} {w:.2f}" for kind, w in weights.items())
            + " (a careful reviewer at 0.9 would weigh 2.20; chance weighs 0).",
            "",
            f"Full re-estimation (`consensus.actions.reestimate`: EM over every review and the gold "
            f"answers for every tag, then every confidence re-derived and the sweep for retirement) "
            f"over {fixed.reestimate_reviews:,} reviews: {fixed.reestimate_seconds:.2f} s.",
            "",
            "| target | met |",
            "|---|---|",
        ]
        lines += [f"| {name} | {'yes' if ok else 'NO'} |" for name, ok in self.targets().items()]
        lines.append("")
        return lines


def auc(scores: list[float], labels: list[bool]) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count a half), by ranks (Mann-Whitney)."""
    pairs = sorted(zip(scores, labels, strict=True))
    ranks = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(1 for _, label in pairs if label)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return 0.5
    rank_sum = sum(rank for rank, (_, label) in zip(ranks, pairs, strict=True) if label)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
