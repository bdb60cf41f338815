"""Tracking metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.metrics.tracking import (
    TrackingCounts,
    binned_efficiency,
    drop_small_candidates,
    graph_efficiency_purity,
    is_reconstructable,
    match_memberships,
    match_particles,
    trackml_score,
    trackml_weights,
    weight_pt,
)

# particle 1: 6 hits, pT 2 (reconstructable); particle 2: 3 hits (not); one noise hit
PARTICLE_ID = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 0])
PARTICLE_PT = np.array([2.0] * 6 + [1.5] * 3 + [0.0])
# candidate 0: 4 of particle 1's 6 hits; candidate 1: its other 2; candidate 2: particle 2 and the noise hit
CANDIDATE = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
SLIDES = {"pt_min": 1.0, "min_hits": 5}  # reconstructable: more than 5 hits, pT above 1 GeV


def test_matching_counts_by_hand() -> None:
    result = match_particles(CANDIDATE, PARTICLE_ID, PARTICLE_PT, **SLIDES, min_candidate_hits=3)
    np.testing.assert_array_equal(result.particle_id, [1, 2])
    np.testing.assert_array_equal(result.num_hits, [6, 3])
    np.testing.assert_array_equal(result.reconstructable, [True, False])
    np.testing.assert_array_equal(result.matched, [True, True])
    # candidate 1 (2 hits) is dropped: 2 candidates, one matches the non-reconstructable particle 2
    assert result.counts == TrackingCounts(1, 1, 2, 1)
    assert result.counts.efficiency == 1.0
    assert result.counts.purity == 1.0  # 1 / (2 - 1)


def test_small_candidates_count_against_purity_when_kept() -> None:
    counts = match_particles(CANDIDATE, PARTICLE_ID, PARTICLE_PT, **SLIDES, min_candidate_hits=1).counts
    assert counts == TrackingCounts(1, 1, 3, 1)
    assert counts.purity == 0.5  # 1 / (3 - 1)


def test_half_is_not_a_majority() -> None:
    # 3 of particle 1's 6 hits: exactly half, no match (both fractions must exceed 50%)
    candidate = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, -1])
    result = match_particles(candidate, PARTICLE_ID, PARTICLE_PT, **SLIDES, min_candidate_hits=3)
    np.testing.assert_array_equal(result.matched, [False, True])
    assert result.counts.efficiency == 0.0
    # particle 2 makes up 2 of 4 hits of a candidate: not more than half of the candidate
    candidate = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 1])
    candidate[5] = 1
    result = match_particles(candidate, PARTICLE_ID, PARTICLE_PT, **SLIDES, min_candidate_hits=1)
    np.testing.assert_array_equal(result.matched, [True, False])


def test_reconstructable_needs_more_than_min_hits_and_pt() -> None:
    counts = match_particles(CANDIDATE, PARTICLE_ID, PARTICLE_PT, pt_min=1.0, min_hits=6).counts
    assert counts.reconstructable == 0  # 6 hits is not more than 6
    assert np.isnan(counts.efficiency)
    counts = match_particles(CANDIDATE, PARTICLE_ID, PARTICLE_PT, pt_min=2.0, min_hits=5).counts
    assert counts.reconstructable == 0  # pT 2 is not above 2
    counts = match_particles(CANDIDATE, PARTICLE_ID, PARTICLE_PT, pt_min=1.0, min_hits=2).counts
    assert counts.reconstructable == 2


def test_is_reconstructable_by_hand() -> None:
    num_hits = np.array([5, 6, 6, 9])
    pt = np.array([3.0, 1.0, 1.01, 0.7])
    np.testing.assert_array_equal(
        is_reconstructable(num_hits, pt, pt_min=1.0, min_hits=5), [False, False, True, False]
    )
    np.testing.assert_array_equal(
        is_reconstructable(num_hits, pt, pt_min=0.5, min_hits=5), [False, True, True, True]
    )


def test_drop_small_candidates_by_hand() -> None:
    # candidate 4 has 3 hits, 7 has 2, 9 has 1; -1 stays -1
    candidate = np.array([4, 7, 4, -1, 9, 4, 7])
    np.testing.assert_array_equal(drop_small_candidates(candidate, 3), [4, -1, 4, -1, -1, 4, -1])
    np.testing.assert_array_equal(drop_small_candidates(candidate, 2), [4, 7, 4, -1, -1, 4, 7])
    np.testing.assert_array_equal(drop_small_candidates(candidate, 1), candidate)


def test_counts_add_over_events() -> None:
    total = TrackingCounts(10, 9, 12, 1) + TrackingCounts(5, 5, 5, 0)
    assert total == TrackingCounts(15, 14, 17, 1)
    assert total.efficiency == pytest.approx(14 / 15)
    assert total.purity == pytest.approx(14 / 16)


def test_trackml_score_by_hand() -> None:
    weight = np.array([0.1] * 9 + [0.0])
    # candidate 0: good (4/4 of it, 4/6 of particle 1): 0.4; candidate 1: 2/6 of particle 1, bad;
    # candidate 2: majority particle 2 (3 of 4 hits, all of the particle): its 3 hits, 0.3
    assert trackml_score(CANDIDATE, PARTICLE_ID, weight) == pytest.approx(0.7)
    everything_apart = np.arange(10)
    assert trackml_score(everything_apart, PARTICLE_ID, weight) == 0.0
    perfect = PARTICLE_ID.copy()
    assert trackml_score(perfect, PARTICLE_ID, weight) == pytest.approx(0.9)
    assert trackml_score(np.full(10, -1), PARTICLE_ID, weight) == 0.0


def test_trackml_weights_by_hand() -> None:
    # order weights of a 4-hit particle: the proposal (10, 8, 6, 5, 3, 3, 3, 5, 6) on supports
    # 0, 3/8, ..., 3 read at hits 0..3: 10, 6 - (1 - 0.75) / 0.375, 3, 6
    row = np.array([10.0, 6 - 0.25 / 0.375, 3.0, 6.0])
    row /= row.sum()
    particle_id = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 0])
    hit_order = np.array([0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, -1])
    nhits = np.array([4] * 8 + [3] * 3 + [0])
    pt = np.array([3.0] * 4 + [0.5] * 4 + [5.0] * 3 + [0.0])
    weight = trackml_weights(particle_id, hit_order, nhits, pt)
    expected = np.concatenate([row, 0.2 * row[::-1], np.zeros(4)]) / 1.2  # 3 hits and noise: 0
    np.testing.assert_allclose(weight, expected)
    assert weight.sum() == pytest.approx(1.0)


def test_weight_pt() -> None:
    np.testing.assert_allclose(
        weight_pt(np.array([0.01, 0.3, 0.5, 1.75, 3.0, 10.0])), [0, 0.2, 0.2, 0.6, 1, 1]
    )


def test_clopper_pearson_by_hand() -> None:
    # all 10 pass: lower = 0.15865^(1/10) (the one-sided tail of ±1σ), upper = 1; none pass: mirrored
    values = np.r_[np.full(10, 0.5), np.full(10, 1.5), np.full(4, 2.5)]
    passed = np.r_[np.ones(10, bool), np.zeros(10, bool), [True, True, False, False]]
    result = binned_efficiency(values, passed, np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    tail = (1 - 0.6827) / 2
    np.testing.assert_array_equal(result.total, [10, 10, 4, 0])
    np.testing.assert_array_equal(result.passed, [10, 0, 2, 0])
    np.testing.assert_allclose(result.efficiency[:3], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(result.lower[:2], [tail ** (1 / 10), 0.0])
    np.testing.assert_allclose(result.upper[:2], [1.0, 1 - tail ** (1 / 10)])
    assert result.lower[2] == pytest.approx(1 - result.upper[2])  # symmetric at k = n / 2
    assert np.isnan(result.efficiency[3])
    assert np.isnan(result.lower[3])


def test_graph_efficiency_purity() -> None:
    assert graph_efficiency_purity(np.array([1.0, 0.0, 1.0, 1.0]), 6) == (0.5, 0.75)
    efficiency, purity = graph_efficiency_purity(np.zeros(0), 0)
    assert np.isnan(efficiency)
    assert np.isnan(purity)


def test_candidates_that_share_hits_are_matched_as_sets() -> None:
    # particles 1 (hits 0-5) and 3 (hits 6-11), both reconstructable
    particle_id = np.array([1] * 6 + [3] * 6)
    particle_pt = np.full(12, 2.0)
    members = {
        0: [0, 1, 2, 3, 6, 7],  # 4 of particle 1's 6 hits, 4 of its own 6: matches 1
        1: [2, 3, 4, 5],  # shares hits 2 and 3 with candidate 0; 4 of 6, pure: matches 1 as well
        2: [6, 7, 8, 9, 0],  # shares hits 6, 7 and 0; 4 of particle 3's 6 hits, 4 of 5: matches 3
        3: [9, 10, 11],  # 3 of particle 3's 6 hits: half is not a majority
    }
    hit = np.concatenate([np.array(hits) for hits in members.values()])
    candidate = np.concatenate([np.full(len(hits), label) for label, hits in members.items()])
    result = match_memberships(hit, candidate, particle_id, particle_pt, **SLIDES, min_candidate_hits=3)
    np.testing.assert_array_equal(result.matched, [True, True])
    assert result.counts == TrackingCounts(2, 2, 4, 0)
    assert (result.counts.efficiency, result.counts.purity) == (1.0, 0.5)
    # a candidate's size is its number of member hits: candidate 3 (3 hits) falls under 4
    counts = match_memberships(
        hit, candidate, particle_id, particle_pt, **SLIDES, min_candidate_hits=4
    ).counts
    assert counts == TrackingCounts(2, 2, 3, 0)
