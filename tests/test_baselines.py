"""Baselines: the soft-drop mass score, per-jet quantities and the boosted tree."""

import numpy as np
import pytest

from hepxai.baselines import boosted_tree_score, jet_quantities, mass_score
from hepxai.data.jets import Jets
from hepxai.metrics.classification import roc_auc


def test_mass_score_peaks_at_the_higgs_mass():
    jets = Jets(
        np.zeros((3, 1), np.float32),
        np.ones(3, int),
        np.array([1, 0, 0]),
        ("a",),
        spectators={"fj_sdmass": np.array([125.0, 100.0, 170.0], np.float32)},
    )
    np.testing.assert_allclose(mass_score(jets), [0.0, -25.0, -45.0])
    assert mass_score(Jets(np.zeros((1, 1), np.float32), np.ones(1, int), np.zeros(1, int), ("a",))) is None


def test_jet_quantities_by_hand():
    # Jet 0 has tracks (1, 10) and (3, 30); jet 1 has (5, 50). Feature "a" appears twice and is kept once.
    features = np.array([[1, 10, 1], [3, 30, 3], [5, 50, 5]], np.float32)
    jets = Jets(
        features,
        np.array([2, 1]),
        np.array([1, 0]),
        ("a", "b", "a"),
        spectators={"fj_pt": np.array([400.0, 500.0], np.float32)},
    )
    values, names = jet_quantities(jets)
    assert names == ["fj_pt", "num_tracks", "mean a", "mean b"]
    np.testing.assert_allclose(values, [[400, 2, 2, 20], [500, 1, 5, 50]])


def test_boosted_tree_learns_a_jet_level_label():
    rng = np.random.default_rng(0)
    num_tracks = rng.integers(1, 5, 400)
    features = rng.standard_normal((num_tracks.sum(), 2)).astype(np.float32)
    label = (np.bincount(np.repeat(np.arange(400), num_tracks), features[:, 0]) / num_tracks > 0).astype(int)
    score = boosted_tree_score(Jets(features, num_tracks, label, ("a", "b")))
    assert score.shape == (400,)
    assert roc_auc(score, label) > 0.9
    assert roc_auc(score, label) == pytest.approx(
        roc_auc(boosted_tree_score(Jets(features, num_tracks, label, ("a", "b"))), label)
    )  # seeded folds
