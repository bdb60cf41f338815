"""Interpretation metrics on hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from hepxai.errors import InputError
from hepxai.metrics.interpretation import (
    deletion_area,
    interpretation_auc,
    pair_chance,
    pair_precision_at_k,
    precision_at_k,
    random_tiebreak,
    rank_within_jets,
)


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
    with pytest.raises(InputError, match="rank_within_jets: score has 1 non-finite"):
        rank_within_jets(torch.tensor([0.1, bad]), torch.tensor([0, 0]))
    with pytest.raises(InputError, match="deletion_area: drop has 1 non-finite"):
        deletion_area(torch.tensor([0.0, bad, 0.3]))


def test_all_nan_scores_are_refused_even_with_the_true_tracks_first() -> None:
    # Ranked as ties in stored order, three NaN scores over truth [1, 0, 0] would find the true track first.
    with pytest.raises(InputError, match="interpretation_auc: score has 3 non-finite values"):
        interpretation_auc(torch.full((3,), float("nan")), torch.tensor([1, 0, 0]))


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


@pytest.mark.parametrize(
    ("score", "truth", "k", "expected"),
    [
        ([0.0, 0.0, 0.0, 0.0], [1, 0, 0, 1], 1, 2 / 4),  # one slot over four tied tracks, two true
        ([0.0, 0.0, 0.0, 0.0], [1, 0, 0, 1], 3, 3 / 4 * 2 / 3),  # 3 slots over 4: each true counts 3/4, of 3
        ([0.9, 0.5, 0.5, 0.1], [0, 1, 0, 1], 2, (0 + 1 / 2) / 2),  # top-1 false; 1 slot over {1, 2}, one true
        ([0.9, 0.5, 0.5, 0.1], [0, 1, 0, 1], 3, (0 + 1 + 0) / 3),  # the tie fits the slots: no sharing
        # GradGAM-like: one positive score, the rest zero. Top-1 false, 1 slot over 3 zeros, two true.
        ([0.9, 0.0, 0.0, 0.0], [0, 1, 1, 0], 2, (0 + 2 / 3) / 2),
        ([0.0, 0.0], [1, 0], 3, 1 / 2),  # fewer tracks than k: all of them, ties do not matter
    ],
)
def test_precision_at_k_averages_over_ties(
    score: list[float], truth: list[int], k: int, expected: float
) -> None:
    batch = torch.zeros(len(score), dtype=torch.long)
    assert precision_at_k(torch.tensor(score), torch.tensor(truth), batch, k) == pytest.approx(expected)


def test_precision_at_k_ties_ignore_track_order() -> None:
    # All scores equal. Track order would pick tracks 0 and 2 (both true) -> 1.0; the expectation over the
    # ties is 1/2 for jet 0 (one of two true) and 1 for jet 1 (both true).
    score, truth, batch = torch.zeros(4), torch.tensor([1, 0, 1, 1]), torch.tensor([0, 0, 1, 1])
    assert precision_at_k(score, truth, batch, 1) == pytest.approx((1 / 2 + 1) / 2)


def _precision_from_ranks(rank: torch.Tensor, truth: torch.Tensor, batch: torch.Tensor, k: int) -> float:
    """precision@k of one ordering, by definition: true tracks among each jet's top min(k, n), averaged."""
    top = rank < k
    hits = torch.bincount(batch, weights=(top & truth.bool()).double())
    return float((hits / torch.bincount(batch, weights=top.double())).mean())


def _jets(num_jets: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Truth and jet index of jets of 2-20 tracks, about 40% true, stored truth-first (as if sorted)."""
    generator = torch.Generator().manual_seed(seed)
    counts = torch.randint(2, 21, (num_jets,), generator=generator)
    batch = torch.repeat_interleave(torch.arange(num_jets), counts)
    truth = torch.rand(batch.numel(), generator=generator) < 0.4
    # Sort each jet's tracks truth first: by jet, then true before false.
    order = torch.argsort(batch * 2 + (~truth).long(), stable=True)
    return truth[order], batch


@pytest.mark.parametrize("truth_first", [True, False])
@pytest.mark.parametrize("k", [3, 5, 10])
def test_constant_score_scores_like_random(truth_first: bool, k: int) -> None:
    truth, batch = _jets(4000, seed=1)
    if not truth_first:
        truth = truth.flip(0)
        batch = batch.flip(0).max() - batch.flip(0)
    constant = precision_at_k(torch.zeros(truth.numel()), truth, batch, k)
    random = precision_at_k(
        torch.rand(truth.numel(), generator=torch.Generator().manual_seed(2)), truth, batch, k
    )
    assert constant == pytest.approx(random, abs=0.01)
    # The setting is one where track order would be far off: truth-first storage puts true tracks on top,
    # truth-last below.
    by_order = _precision_from_ranks(rank_within_jets(torch.zeros(truth.numel()), batch), truth, batch, k)
    assert abs(by_order - random) > 0.1  # 0.11 (k = 10) to 0.44 (k = 3) here


def test_precision_at_k_is_the_mean_over_random_tie_breaks() -> None:
    # GradGAM-like scores: about half exact zeros, the rest on three levels, so ties cross the k boundary.
    truth, batch = _jets(50, seed=3)
    generator = torch.Generator().manual_seed(4)
    score = torch.randint(0, 4, (truth.numel(),), generator=generator).double()
    score[torch.rand(truth.numel(), generator=generator) < 0.5] = 0.0
    jet_id = torch.arange(50)
    for k in (3, 5):
        draws = [
            _precision_from_ranks(
                rank_within_jets(score, batch, tiebreak=random_tiebreak(batch, jet_id, seed=seed)),
                truth,
                batch,
                k,
            )
            for seed in range(400)
        ]
        # 400 draws: the standard error of the mean is below 0.003 here.
        assert sum(draws) / len(draws) == pytest.approx(precision_at_k(score, truth, batch, k), abs=0.01)


def test_precision_at_k_rejects_k_below_one() -> None:
    with pytest.raises(InputError, match="k must be"):
        precision_at_k(SCORE, TRUTH, BATCH, 0)


def test_rank_within_jets_unsorted_batch() -> None:
    # Jets interleaved: jet 0 = tracks 0, 2, 3 with scores 1, 3, 2 -> ranks 2, 0, 1; jet 1 = tracks 1, 4.
    score = torch.tensor([1.0, 5.0, 3.0, 2.0, 4.0])
    batch = torch.tensor([0, 1, 0, 0, 1])
    assert rank_within_jets(score, batch).tolist() == [2, 0, 0, 1, 1]


def test_rank_within_jets_tiebreak_orders_ties_only() -> None:
    # Jet 0 = tracks 0-2 with scores 1, 1, 2; keys put track 1 before track 0. Jet 1 = tracks 3, 4 tied.
    score = torch.tensor([1.0, 1.0, 2.0, 0.0, 0.0])
    batch = torch.tensor([0, 0, 0, 1, 1])
    tiebreak = torch.tensor([5, 3, 9, 2, 1])
    assert rank_within_jets(score, batch, tiebreak=tiebreak).tolist() == [2, 1, 0, 1, 0]


def test_random_tiebreak_does_not_depend_on_batching() -> None:
    batch = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    jet_id = torch.tensor([10, 11, 12])
    whole = random_tiebreak(batch, jet_id, seed=7)
    first, second = (
        random_tiebreak(batch[:3], jet_id[:1], seed=7),
        random_tiebreak(batch[3:] - 1, jet_id[1:], seed=7),
    )
    assert torch.equal(whole, torch.cat([first, second]))
    assert whole.unique().numel() == whole.numel()
    assert not torch.equal(whole, random_tiebreak(batch, jet_id, seed=8))


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


def test_pair_precision_and_chance() -> None:
    # Jet 0: tracks 0, 1 true, 2 false -> ordered pairs (0,1) (1,0) true of 6: chance 2/6.
    # Jet 1: one track, no pair, left out. Jet 2: tracks 4, 5 both true -> chance 1.
    truth = torch.tensor([True, True, False, True, True, True])
    batch = torch.tensor([0, 0, 0, 1, 2, 2])
    assert pair_chance(truth, batch) == pytest.approx((2 / 6 + 1.0) / 2)
    # Pairs of jet 0 scored: (0,1) 0.9 true, (0,2) 0.8 false, (1,0) 0.1 true; jet 2: (4,5) 0.5 true.
    pair_score = torch.tensor([0.9, 0.8, 0.1, 0.5])
    pair_truth = torch.tensor([True, False, True, True])
    pair_jet = torch.tensor([0, 0, 0, 2])
    # k = 1: jet 0 top (0,1) true -> 1; jet 2 -> 1. k = 2: jet 0 {0.9, 0.8} -> 1/2; jet 2 -> 1 (one pair).
    assert pair_precision_at_k(pair_score, pair_truth, pair_jet, 1) == pytest.approx(1.0)
    assert pair_precision_at_k(pair_score, pair_truth, pair_jet, 2) == pytest.approx(0.75)
