"""ROC curve, AUC and background rejection on cases worked out by hand."""

import re

import numpy as np
import pytest
from scipy.stats import beta

from hepxai.errors import InputError
from hepxai.metrics.classification import (
    background_rejection,
    bootstrap_interval,
    rejection_interval,
    rejection_text,
    roc_auc,
    roc_auc_error,
    roc_curve,
    threshold_at_background_efficiency,
)

# Signal at 0.9, 0.7, 0.6; background at 0.8, 0.5, 0.4.
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
LABEL = np.array([1, 0, 1, 1, 0, 0])


def test_roc_curve_by_hand():
    background_efficiency, signal_efficiency, threshold = roc_curve(SCORE, LABEL)
    # cut >= 0.9: 1/3 S, 0 B; >= 0.8: 1/3, 1/3; >= 0.7: 2/3, 1/3; >= 0.6: 1, 1/3; >= 0.5: 1, 2/3; >= 0.4: 1, 1
    np.testing.assert_allclose(signal_efficiency, [0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(background_efficiency, [0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(threshold, [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


@pytest.mark.parametrize(
    ("score", "label", "expected"),
    [
        (SCORE, LABEL, 7 / 9),  # S-B pairs won: 0.9 beats 3, 0.7 beats 2, 0.6 beats 2 -> 7 of 9
        (np.array([0.5, 0.5]), np.array([1, 0]), 0.5),  # one tie counts half
        (
            np.array([1.0, 0.5, 0.5, 0.0]),
            np.array([1, 1, 0, 0]),
            3.5 / 4,
        ),  # 1 beats both, 0.5 ties one, beats 0
        (np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0]), 0.0),  # inverted
        (np.array([3.0, 2.0, 1.0]), np.array([1, 1, 0]), 1.0),  # separated
    ],
)
def test_roc_auc_by_hand(score, label, expected):
    assert roc_auc(score, label) == pytest.approx(expected)


def test_roc_auc_agrees_with_pair_counting():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 300)
    score = np.round(rng.normal(label, 1.0), 1)  # rounded: many ties
    signal, background = score[label == 1], score[label == 0]
    pairs = (signal[:, None] > background).mean() + 0.5 * (signal[:, None] == background).mean()
    assert roc_auc(score, label) == pytest.approx(pairs)


@pytest.mark.parametrize(
    ("efficiency", "expected"),
    [
        (0.3, np.inf),  # the cut >= 0.9 keeps 1/3 of the signal and no background
        (0.5, 3.0),  # the tightest cut with >= 50% signal is >= 0.7: background efficiency 1/3
        (1.0, 3.0),  # all signal with >= 0.6: background efficiency 1/3
    ],
)
def test_background_rejection_by_hand(efficiency, expected):
    assert background_rejection(SCORE, LABEL, efficiency) == expected


def test_single_class_and_bad_efficiency_are_refused():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="signal efficiency"):
        background_rejection(SCORE, LABEL, 0.0)


@pytest.mark.parametrize(
    ("score", "count"),
    [
        (np.array([np.nan, 0.2, 0.7, 0.1]), "1 non-finite values (NaN or inf) of 4"),
        (np.array([0.9, np.inf, -np.inf, 0.1]), "2 non-finite values (NaN or inf) of 4"),
        # All NaN with the signal stored first: ranked as ties in stored order this would give AUC 1.0.
        (np.full(4, np.nan), "4 non-finite values (NaN or inf) of 4"),
    ],
)
def test_non_finite_scores_are_refused_with_a_count(score, count):
    label = np.array([1, 1, 0, 0])
    for metric in (
        lambda: roc_auc(score, label),
        lambda: roc_curve(score, label),
        lambda: background_rejection(score, label, 0.5),
        lambda: threshold_at_background_efficiency(score, label, 0.5),
    ):
        with pytest.raises(InputError, match=re.escape(f"roc_curve: score has {count}")):
            metric()


def test_threshold_at_background_efficiency_by_hand():
    # background efficiency stays 1/3 from the cut at 0.8 down to the cut at 0.6; the loosest of them is 0.6
    assert threshold_at_background_efficiency(SCORE, LABEL, 1 / 3) == 0.6
    assert threshold_at_background_efficiency(SCORE, LABEL, 0.1) == 0.9  # no background jet passes


def test_auc_bootstrap_error_of_one_signal_jet_is_the_binomial_error():
    # one signal jet above half of 400 background jets: the AUC is the fraction of background jets below
    # it, so resampling the background gives sigma = sqrt(p (1 - p) / m) = 0.025
    score = np.r_[0.5, np.linspace(0, 1, 400)]
    label = np.r_[1, np.zeros(400, int)]
    error = roc_auc_error(score, label, resamples=400)
    assert error == pytest.approx(0.025, rel=0.15)
    assert roc_auc_error(score, label, seed=1) == roc_auc_error(score, label, seed=1)


def test_separated_classes_have_no_auc_spread():
    assert roc_auc_error(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0])) == 0.0


def test_rejection_interval_of_one_passing_jet_and_of_none():
    low, high = rejection_interval(np.array([0.01, 0.0]), 100)
    np.testing.assert_allclose(low[0], 1 / beta.ppf(1 - (1 - 0.6827) / 2, 2, 99))
    np.testing.assert_allclose(high[0], 1 / beta.ppf((1 - 0.6827) / 2, 1, 100))
    assert np.isinf(high[1])
    assert low[1] == pytest.approx(1 / (1 - ((1 - 0.6827) / 2) ** (1 / 100)))
    assert rejection_text(np.inf, low[1], high[1]) == f"> {low[1]:.3g}"
    assert rejection_text(100.0, low[0], high[0]) == f"100 ({low[0]:.3g}–{high[0]:.3g})"


def test_bootstrap_interval_of_separated_classes_is_a_point():
    # Every H score above every QCD score: every resample has AUC 1 and no QCD jet passes at 50%.
    score, label = np.array([0.1, 0.2, 0.3, 0.8, 0.9]), np.array([0, 0, 0, 1, 1])
    assert bootstrap_interval(score, label, roc_auc, resamples=50) == (1.0, 1.0)
    rejection = bootstrap_interval(score, label, lambda s, y: background_rejection(s, y, 0.5), resamples=50)
    assert rejection == (np.inf, np.inf)  # no NaN from interpolating between infinities


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_more_jets():
    rng = np.random.default_rng(0)
    widths = []
    for size in (100, 2500):
        label = np.arange(size) % 2
        score = rng.normal(size=size) + label
        low, high = bootstrap_interval(score, label, roc_auc, seed=1)
        assert low <= roc_auc(score, label) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3  # the width falls like 1/sqrt(jets): 5x here
