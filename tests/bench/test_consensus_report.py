"""How the consensus bench reads the issue's targets (bench/consensus_report.py): the defaults on
the first release, or a one-review rule over every release pooled, must save a quarter at equal or
better accuracy, each against threshold 3 on its own release."""

from __future__ import annotations

import pytest

from bench.consensus_report import ConsensusReport, Run

ONE = (0.9, 1, 4)
OTHER = (0.875, 1, 4)


def _run(name: str, spent: int, right: list[int], *, seed: int = 1, rule=None, spammer: float = 0.1) -> Run:
    return Run(
        name=name,
        seed=seed,
        rule=rule,
        reviews=spent,
        confidence_accuracy=sum(right) / (3 * len(right)),
        majority_accuracy=0.5,
        auc_agreement=0.9,
        auc_confidence=0.95,
        weights={"spammer": spammer},
        right_by_page=dict(enumerate(right)),
    )


def _report(second_spent: int, second_right: list[int], *, third_spent: int = 4400) -> ConsensusReport:
    """Three releases of four pages; on each, threshold 3 spends 6,000 reviews."""
    report = ConsensusReport(
        runs=[
            _run("t3", 6000, [3, 3, 2, 3]),
            _run("defaults", 5100, [3, 3, 2, 3], rule=(0.95, 2, 3)),  # 15% fewer
            _run("lax", 4900, [3, 2, 2, 3], rule=(0.9, 2, 3)),
            _run("one", 4400, [3, 3, 3, 3], rule=ONE),  # 26.7% fewer, more accurate
        ]
    )
    report.others = [
        _run("t3 b", 6000, [3, 2, 3, 3], seed=2),
        _run("one b", second_spent, second_right, seed=2, rule=ONE),
        _run("t3 c", 6000, [3, 3, 3, 2], seed=3),
        _run("one c", third_spent, [3, 3, 3, 2], seed=3, rule=ONE),
    ]
    return report


def test_a_one_review_rule_is_read_on_the_releases_pooled_each_against_its_own_threshold_3():
    report = _report(4400, [3, 2, 3, 3])
    assert report.pooled_rules() == [ONE]
    assert report.rule_met() == "retire when confident (0.9, at least 1, ceiling 4) over 3 releases"
    assert report.targets_met()
    # Each run against threshold 3 on its own release...
    assert report.fixed_for(report.others[1]) is report.others[0]
    assert report.saving(report.others[1]) == 1 - 4400 / 6000
    assert report.accuracy_difference(report.others[1])[0] == 0
    # ...and pooled: all the rule's reviews against all of threshold 3's; the paired differences
    # of the 12 pages (one page better on the first release, none elsewhere).
    runs = report.runs_of(ONE)
    assert report.saving(runs) == 1 - 3 * 4400 / 18000
    assert report.accuracy_difference(runs)[0] == pytest.approx((1 / 3) / 12)


def test_one_short_release_does_not_fail_a_rule_the_pooled_figures_carry():
    # 24% fewer on the second release, 28.3% on the third: 26.3% pooled.
    report = _report(4560, [3, 2, 3, 3], third_spent=4300)
    assert report.saving(report.others[1]) < 0.25
    assert report.rule_met() is not None and report.targets_met()


def test_a_rule_short_or_less_accurate_pooled_is_not_met():
    short = _report(4560, [3, 2, 3, 3], third_spent=4560)  # 26.7%, 24%, 24%: 24.9% pooled
    assert short.rule_met() is None and not short.targets_met()
    label = "retire when confident (0.9, at least 1, ceiling 4) over 3 releases"
    assert short.targets()[f"{label}: at least 25% fewer reviews"] is False
    # Two answers fewer right on the second release outweigh one more on the first.
    worse = _report(4400, [3, 2, 2, 2])
    assert worse.rule_met() is None
    assert worse.targets()[f"{label}: equal or better accuracy (confidence >= 0.5)"] is False


def test_every_rule_run_on_several_releases_is_read_and_any_may_meet_it():
    report = _report(4560, [3, 2, 3, 3], third_spent=4560)
    report.runs.append(_run("other", 4000, [3, 3, 2, 3], rule=OTHER))
    report.others += [
        _run("other b", 4100, [3, 2, 3, 3], seed=2, rule=OTHER),
        _run("other c", 4200, [3, 3, 3, 2], seed=3, rule=OTHER),
    ]
    assert report.pooled_rules() == [ONE, OTHER]
    assert report.rules_met() == ["retire when confident (0.875, at least 1, ceiling 4) over 3 releases"]
    assert report.targets_met()
    text = "\n".join(report.markdown())
    assert "met by retire when confident (0.875, at least 1, ceiling 4) over 3 releases" in text
    assert "| **the 3 pooled** | **24.9%** |" in text


def test_the_defaults_alone_can_meet_it_and_the_model_targets_still_count():
    report = _report(4560, [3, 2, 3, 3], third_spent=4560)
    report.runs[1] = _run("defaults", 4400, [3, 3, 2, 3], rule=(0.95, 2, 3))
    assert report.rule_met() == "the defaults" and report.targets_met()
    report.runs[1] = _run("defaults", 4400, [3, 3, 2, 3], rule=(0.95, 2, 3), spammer=0.4)
    assert report.rule_met() == "the defaults" and not report.targets_met()
