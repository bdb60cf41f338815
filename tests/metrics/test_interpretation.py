"""Interpretation metrics on hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from hepxai.errors import InputError
from hepxai.metrics.interpretation import deletion_area, interpretation_auc, precision_at_k, rank_within_jets


@pytest.mark.parametrize(
    ("score", "truth", "expected"),
    [
        ([0.9, 0.1, 0.5, 0.3], [1, 0, 1, 0], 1.0),  # both true tracks above both false ones
        ([0.1, 0.9, 0.3, 0.5], [1, 0, 1, 0], 0.0),  # both below
        # pairs (true, false): (0.9,0.8) ok, (0.9,0.2) ok, (0.1,0.8) no, (0.1,0.2) no -> 2/4
        ([0.9, 0.1, 0.8, 0.2], [1, 1, 0, 0], 0.5),
        ([0.5, 0.5, 0.5], [1, 0, 0], 0.5),  # ties count one half each
        # pairs: (0.7 vs 0.4, 0.6) both ok; (0.5 vs 0.4) ok, (0.5 vs 0.6) no -> 3/4
        ([0.7, 0.4, 0.5, 0.6], [1, 0, 1, 0], 0.75),
    ],
)
def test_interpretation_auc(score: list[float], truth: list[int], expected: float) -> None:
    assert interpretation_auc(torch.tensor(score), torch.tensor(truth)) == pytest.approx(expected)


def test_interpretation_auc_needs_both_kinds() -> None:
    with pytest.raises(InputError, match="needs both kinds"):
        interpretation_auc(torch.tensor([0.1, 0.2]), torch.tensor([1, 1]))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_scores_must_be_finite(bad: float) -> None:
    with pytest.raises(InputError, match="1 non-finite"):
        interpretation_auc(torch.tensor([0.1, bad]), torch.tensor([1, 0]))
    with pytest.raises(InputError, match="1 non-finite"):
        precision_at_k(torch.tensor([0.1, bad]), torch.tensor([1, 0]), torch.tensor([0, 0]), 1)


def test_interpretation_auc_shapes_must_match() -> None:
    with pytest.raises(InputError, match="equal shape"):
        interpretation_auc(torch.tensor([0.1, 0.2]), torch.tensor([1, 0, 1]))


# Two jets: jet 0 has tracks 0-3, jet 1 has tracks 4-5 (fewer than k=3).
SCORE = torch.tensor([0.9, 0.1, 0.5, 0.7, 0.2, 0.8])
TRUTH = torch.tensor([1, 1, 0, 1, 1, 0])
BATCH = torch.tensor([0, 0, 0, 0, 1, 1])


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, (1.0 + 0.0) / 2),  # jet 0: top-1 = {0} true; jet 1: top-1 = {5} false
        (2, (1.0 + 0.5) / 2),  # jet 0: {0, 3} both true; jet 1: {5, 4} one of two
        # jet 0: {0, 3, 2} two of three; jet 1 has 2 < 3 tracks: both, one true -> 1/2 (not 1/3)
        (3, (2 / 3 + 0.5) / 2),
        (10, (3 / 4 + 1 / 2) / 2),  # every track of each jet: 3 of 4, 1 of 2
    ],
)
def test_precision_at_k(k: int, expected: float) -> None:
    assert precision_at_k(SCORE, TRUTH, BATCH, k) == pytest.approx(expected)


def test_precision_at_k_ties_keep_track_order() -> None:
    # All scores equal: top-1 is each jet's first track; jet 0 -> track 0 (true), jet 1 -> track 2 (false).
    score = torch.zeros(4)
    assert precision_at_k(score, torch.tensor([1, 0, 0, 1]), torch.tensor([0, 0, 1, 1]), 1) == pytest.approx(
        0.5
    )


def test_precision_at_k_rejects_k_below_one() -> None:
    with pytest.raises(InputError, match="k must be"):
        precision_at_k(SCORE, TRUTH, BATCH, 0)


def test_rank_within_jets_unsorted_batch() -> None:
    # Jets interleaved: jet 0 = tracks 0, 2, 3 with scores 1, 3, 2 -> ranks 2, 0, 1; jet 1 = tracks 1, 4.
    score = torch.tensor([1.0, 5.0, 3.0, 2.0, 4.0])
    batch = torch.tensor([0, 1, 0, 0, 1])
    assert rank_within_jets(score, batch).tolist() == [2, 0, 0, 1, 1]


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ([0.0, 0.0, 0.0], 0.0),
        ([0.0, 1.0, 1.0], 0.75),  # trapezoids 0.5 and 1.0, over K=2 steps
        ([0.0, 0.2, 0.4, 0.6], 0.3),  # (0.1 + 0.3 + 0.5) / 3
        ([0.0, -0.2], -0.1),  # removing tracks can raise the probability: negative area
    ],
)
def test_deletion_area(drop: list[float], expected: float) -> None:
    assert deletion_area(torch.tensor(drop)) == pytest.approx(expected)


def test_deletion_area_needs_two_points() -> None:
    with pytest.raises(InputError, match=">= 2 points"):
        deletion_area(torch.tensor([0.0]))
