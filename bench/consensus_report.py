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
    RELEASE_SEEDS,
    SEED,
    TAGS,
)

# (target, at least, ceiling) of a retiring run.
Rule = tuple[float, int, int]


def rule_name(rule: Rule) -> str:
    target, at_least, ceiling = rule
    return f"retire when confident ({target}, at least {at_least}, ceiling {ceiling})"


@dataclass
class Run:
    name: str
    seed: int = SEED
    rule: Rule | None = None  # None: threshold 3, every page three reviews
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
    # On SEED: threshold 3, the defaults, the lax target, then the one-review rules.
    runs: list[Run] = field(default_factory=list)
    bounds: list[Bound] = field(default_factory=list)
    swept: Sweep | None = None
    # Threshold 3 and the one-review rules again on the other seeds of RELEASE_SEEDS.
    others: list[Run] = field(default_factory=list)

    @property
    def fixed(self) -> Run:
        return self.runs[0]

    @property
    def retiring(self) -> Run:
        return self.runs[1]

    def every_run(self) -> list[Run]:
        return [*self.runs, *self.others]

    def fixed_for(self, run: Run) -> Run:
        """The threshold-3 run on the same release as ``run``."""
        return next(r for r in self.every_run() if r.rule is None and r.seed == run.seed)

    def pooled_rules(self) -> list[Rule]:
        """The rules run on more than one release, in the order they were run."""
        out: list[Rule] = []
        for r in self.others:
            if r.rule is not None and r.rule not in out:
                out.append(r.rule)
        return out

    def runs_of(self, rule: Rule) -> list[Run]:
        return [r for r in self.every_run() if r.rule == rule]

    def saving(self, run: Run | list[Run] | None = None) -> float:
        """Reviews saved against threshold 3 on the same releases (the defaults' unless ``run``;
        a list of runs is pooled: all their reviews against all of threshold 3's)."""
        runs = [run or self.retiring] if not isinstance(run, list) else run
        return 1 - sum(r.spent for r in runs) / sum(self.fixed_for(r).spent for r in runs)

    def accuracy_difference(self, run: Run | list[Run] | None = None) -> tuple[float, float]:
        """Accuracy (confidence >= 0.5; the defaults' unless ``run``, a list pooled) minus
        threshold 3's on the same releases, and the standard error of that difference, paired by
        page (the same release and truth in both runs)."""
        runs = [run or self.retiring] if not isinstance(run, list) else run
        diffs = []
        for r in runs:
            fixed = self.fixed_for(r).right_by_page
            diffs += [(r.right_by_page[p] - fixed[p]) / len(TAGS) for p in fixed]
        return statistics.mean(diffs), statistics.stdev(diffs) / len(diffs) ** 0.5

    def rule_targets(self, runs: list[Run]) -> dict[str, bool]:
        """The issue's two targets for a retiring rule, on these runs pooled, against threshold 3
        on their releases. Accuracy compares counts of right (page, tag) answers, not rounded means."""
        right = sum(sum(r.right_by_page.values()) for r in runs)
        fixed_right = sum(sum(self.fixed_for(r).right_by_page.values()) for r in runs)
        return {
            "at least 25% fewer reviews": self.saving(runs) >= 0.25,
            "equal or better accuracy (confidence >= 0.5)": right >= fixed_right,
        }

    def rules(self) -> list[tuple[str, list[Run]]]:
        """Each rule whose targets are read, with the runs they are read on: the defaults on the
        first release, each one-review rule on every release pooled."""
        out = [("the defaults", [self.retiring])]
        for rule in self.pooled_rules():
            runs = self.runs_of(rule)
            out.append((f"{rule_name(rule)} over {len(runs)} releases", runs))
        return out

    def model_targets(self) -> dict[str, bool]:
        retiring = self.retiring
        return {
            "the defaults: accuracy no worse beyond noise (difference above -2 standard errors)": (
                self.accuracy_difference()[0] > -2 * self.accuracy_difference()[1]
            ),
            "confidence's AUC above agreement's": all(
                r.auc_confidence > r.auc_agreement for r in self.runs[:2]
            ),
            "spammers' weight near zero (< 0.25) after 20 gold pages": retiring.weights.get("spammer", 9)
            < 0.25,
        }

    def targets(self) -> dict[str, bool]:
        """Each rule's two targets, then the crowd model's. The issue asks for 25% fewer reviews
        at equal or better accuracy "with retire_when_confident": the defaults, or a one-review
        rule over the releases pooled, must meet both (``rule_met``)."""
        out: dict[str, bool] = {}
        for label, runs in self.rules():
            out |= {f"{label}: {name}": ok for name, ok in self.rule_targets(runs).items()}
        return out | self.model_targets()

    def rules_met(self) -> list[str]:
        """The rules that meet the issue's saving and accuracy targets."""
        return [label for label, runs in self.rules() if all(self.rule_targets(runs).values())]

    def rule_met(self) -> str | None:
        """The first rule that meets the issue's saving and accuracy targets, if any."""
        met = self.rules_met()
        return met[0] if met else None

    def targets_met(self) -> bool:
        # The 2-SE row is for the defaults only, and is implied when a rule meets "equal or better".
        model = self.model_targets()
        model.pop("the defaults: accuracy no worse beyond noise (difference above -2 standard errors)")
        return self.rule_met() is not None and all(model.values())

    def summary(self) -> str:
        lines = []
        for r in self.every_run():
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
        lines += [
            f"{label}: saving {self.saving(runs):.1%}, accuracy {self.accuracy_difference(runs)[0]:+.4f}"
            for label, runs in self.rules()
        ]
        lines.append(f"targets: {self.targets()}; met by: {self.rules_met()}")
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
            f"after its review (the beat task's best case). Seed {SEED}; threshold 3 and the rules that may "
            "retire a page after one review also on the releases and crowds of seeds "
            + ", ".join(str(seed) for seed in RELEASE_SEEDS[1:])
            + ". Wall seconds: the reviewing and the last re-fit, "
            "on 2 cores shared with other work.",
            "",
            "| run | reviews spent | of which gold | pages retired early | accuracy, majority | "
            "accuracy, confidence >= 0.5 | AUC agreement | AUC confidence | wall s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.every_run():
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
            f"{r.name}: saves {self.saving(r):.1%} of threshold 3's reviews, accuracy "
            f"{self.accuracy_difference(r)[0]:+.4f} (standard error {self.accuracy_difference(r)[1]:.4f})."
            for r in self.runs[2:]
            if r.rule not in self.pooled_rules()
        ]
        for rule in self.pooled_rules():
            runs = self.runs_of(rule)
            lines += [
                "",
                f"{rule_name(rule)}, against threshold 3 on each release:",
                "",
                "| release (seed) | reviews saved | accuracy, confidence >= 0.5, minus threshold 3's (SE) |",
                "|---|---|---|",
            ]
            lines += [
                f"| {r.seed} | {self.saving(r):.1%} | {self.accuracy_difference(r)[0]:+.4f} "
                f"({self.accuracy_difference(r)[1]:.4f}) |"
                for r in runs
            ]
            lines.append(
                f"| **the {len(runs)} pooled** | **{self.saving(runs):.1%}** | "
                f"**{self.accuracy_difference(runs)[0]:+.4f}** ({self.accuracy_difference(runs)[1]:.4f}) |"
            )
        met = self.rules_met()
        lines += [
            "",
            "25% fewer reviews at equal or better accuracy: "
            + (
                f"**met by {' and by '.join(met)}**."
                if met
                else "**not met** by the defaults, nor by a one-review rule over the releases pooled."
            ),
            "",
            "The releases are pooled because a rule's saving moves by 2 to 3 points and its accuracy "
            "by a few thousandths from one release to the next, and from one run to the next on the "
            "same seed (the picker also reads the clock and Redis's own state, so picks are not "
            "replayed exactly), more than separates the rules.",
            "",
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
                "accurate. With reliabilities learned as the crowd works it holds only for a page "
                "the lone reviewer left untagged (`consensus.actions.may_retire`): early in a release "
                "every page has one review and the reviewers are barely known, and pages that left "
                "on one reviewer's tag were wrong several times as often. With weights known exactly "
                "none of those pages would have left at all, so the bounds above are the same with "
                "or without that rule.",
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
