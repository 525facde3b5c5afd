"""The simulation bench's arithmetic (bench/consensus_sim.py), against cases worked by hand."""

from __future__ import annotations

import pytest

from bench.consensus_sim import auc


def test_auc_is_the_chance_a_positive_outranks_a_negative():
    # scikit-learn's documented example: 3 of the 4 (positive, negative) pairs are ordered.
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)


def test_auc_counts_ties_as_half_and_is_one_for_a_perfect_ranking():
    assert auc([0.5, 0.5, 0.5, 0.5], [False, True, False, True]) == pytest.approx(0.5)
    assert auc([0.0, 0.2, 0.9], [False, False, True]) == 1.0
    assert auc([1.0, 0.0], [False, True]) == 0.0
