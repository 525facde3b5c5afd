"""The simulation bench's arithmetic (bench/consensus_sim.py), against cases worked by hand."""

from __future__ import annotations

import pytest

from bench import consensus_sim
from bench.consensus_sim import auc


def test_auc_is_the_chance_a_positive_outranks_a_negative():
    # scikit-learn's documented example: 3 of the 4 (positive, negative) pairs are ordered.
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)


def test_auc_counts_ties_as_half_and_is_one_for_a_perfect_ranking():
    assert auc([0.5, 0.5, 0.5, 0.5], [False, True, False, True]) == pytest.approx(0.5)
    assert auc([0.0, 0.2, 0.9], [False, False, True]) == 1.0
    assert auc([1.0, 0.0], [False, True]) == 0.0


def test_the_bound_without_retirement_spends_the_threshold_on_every_page():
    bound = consensus_sim.oracle_bound("fixed", target=None, pages=200)
    assert bound.reviews_per_page == consensus_sim.THRESHOLD and bound.saving == 0


def test_the_bound_retires_at_the_minimum_when_every_reviewer_is_near_perfect():
    experts = [("expert", 1.0, 0.999)]
    bound = consensus_sim.oracle_bound("experts", target=0.95, kinds=experts, pages=200)
    assert bound.reviews_per_page == 2 and bound.accuracy > 0.99
    spammers = [("spammer", 1.0, None)]  # weight 0: never confident, always the ceiling
    assert consensus_sim.oracle_bound("spam", target=0.95, kinds=spammers, pages=200).reviews_per_page == 3


def test_rules_read_the_same_draws_so_their_accuracies_compare_page_by_page():
    """A target no page can reach retires nothing: that rule is threshold 3 on the very same
    pages, reviewers and answers, page for page (common random numbers), whatever else it sets."""
    fixed = consensus_sim.oracle_bound("fixed", target=None, pages=300)
    never = consensus_sim.oracle_bound("never", target=1.0, min_reviews=1, pages=300)
    assert never.right_by_page == fixed.right_by_page and never.reviews_per_page == 3
    # A higher ceiling reads one review further into the same draws: every page gets four.
    four = consensus_sim.oracle_bound("four", target=None, ceiling=4, pages=300)
    assert four.reviews_per_page == 4 and four.right_by_page != fixed.right_by_page
