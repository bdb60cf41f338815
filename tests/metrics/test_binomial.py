"""Clopper–Pearson intervals on cases solved by hand and against the beta quantiles."""

import numpy as np
import pytest
from scipy.stats import beta

from hepxai.metrics.binomial import ONE_SIGMA, clopper_pearson

TAIL = (1 - ONE_SIGMA) / 2


def test_none_and_all_passing_solve_the_binomial_tail_by_hand() -> None:
    # k = 0: P(0 of n | p) = (1 - p)^n = tail gives the upper end; k = n mirrors it
    lower, upper = clopper_pearson(np.array([0, 10]), np.array([10, 10]))
    np.testing.assert_allclose(lower, [0.0, TAIL ** (1 / 10)])
    np.testing.assert_allclose(upper, [1 - TAIL ** (1 / 10), 1.0])


def test_one_of_a_hundred_matches_the_beta_quantiles() -> None:
    lower, upper = clopper_pearson(1, 100)
    assert lower == pytest.approx(beta.ppf(TAIL, 1, 100))
    assert upper == pytest.approx(beta.ppf(1 - TAIL, 2, 99))
    assert 1 / upper == pytest.approx(31, abs=1)
    assert 1 / lower == pytest.approx(580, rel=0.01)


def test_interval_holds_the_estimate_and_empty_trials_give_nan() -> None:
    passed, total = np.array([3, 50, 0]), np.array([7, 100, 0])
    lower, upper = clopper_pearson(passed, total)
    assert np.all(lower[:2] < passed[:2] / total[:2])
    assert np.all(passed[:2] / total[:2] < upper[:2])
    assert lower[1] == pytest.approx(1 - upper[1])  # symmetric at k = n / 2
    assert np.isnan(lower[2])
    assert np.isnan(upper[2])
