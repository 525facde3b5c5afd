"""How the consensus bench reads the issue's targets (bench/consensus_report.py): the defaults, or
the one-review rule on both releases, must save a quarter at equal or better accuracy."""

from __future__ import annotations

from bench.consensus_report import ConsensusReport, Run


def _run(name: str, spent: int, right: list[int], *, seed: int = 1, spammer: float = 0.1) -> Run:
    pages = {p: r for p, r in enumerate(right)}
    return Run(
        name=name,
        seed=seed,
        reviews=spent,
        confidence_accuracy=sum(right) / (3 * len(right)),
        majority_accuracy=0.5,
        auc_agreement=0.9,
        auc_confidence=0.95,
        weights={"spammer": spammer},
        right_by_page=pages,
    )


def _report(second_spent: int, second_right: list[int]) -> ConsensusReport:
    fixed = _run("t3", 6000, [3, 3, 2, 3])
    report = ConsensusReport(
        runs=[
            fixed,
            _run("defaults", 5100, [3, 3, 2, 3]),  # 15% fewer
            _run("lax", 4900, [3, 2, 2, 3]),
            _run("one", 4400, [3, 3, 3, 3]),  # 26.7% fewer, more accurate
        ]
    )
    report.second = [
        _run("t3 b", 6000, [3, 2, 3, 3], seed=2),
        _run("one b", second_spent, second_right, seed=2),
    ]
    return report


def test_the_one_review_rule_must_meet_both_targets_on_both_releases():
    report = _report(4400, [3, 2, 3, 3])
    assert report.rule_met() == "the one-review rule" and report.targets_met()
    # Savings and accuracy are read against threshold 3 on the run's own release.
    assert report.saving(report.second[1]) == 1 - 4400 / 6000
    assert report.accuracy_difference(report.second[1])[0] == 0
    # 24% fewer on the second release: not met, whatever the first says.
    short = _report(4560, [3, 2, 3, 3])
    assert short.rule_met() is None and not short.targets_met()
    assert short.targets()["the one-review rule, seed 777: at least 25% fewer reviews"] is False
    # Less accurate on the second release: not met either.
    assert _report(4400, [3, 2, 2, 3]).rule_met() is None


def test_the_defaults_alone_can_meet_it_and_the_model_targets_still_count():
    report = _report(4560, [3, 2, 3, 3])
    report.runs[1] = _run("defaults", 4400, [3, 3, 2, 3])
    assert report.rule_met() == "the defaults" and report.targets_met()
    report.runs[1] = _run("defaults", 4400, [3, 3, 2, 3], spammer=0.4)
    assert report.rule_met() == "the defaults" and not report.targets_met()
