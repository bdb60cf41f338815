"""Tracking metrics: candidate–particle matching, efficiency and purity as the HGNN slides define them, the
TrackML score, binned efficiency with Clopper–Pearson errors, and graph edge efficiency and purity.

Track candidates are hit labels (``candidate[h]`` ≥ 0, or −1 for a hit in no candidate). A candidate
*matches* a particle when it holds more than half of the particle's hits and the particle makes up more
than half of the candidate's hits; noise hits (``particle_id`` 0) belong to no particle. A particle is
*reconstructable* with more than ``min_hits`` hits and pT above ``pt_min``. Then (the slides)

* efficiency = matched reconstructable / reconstructable,
* purity = matched reconstructable / (candidates − matched non-reconstructable),

where only candidates of at least ``min_candidate_hits`` hits count (two hits are not a track). Counts add
over events (:class:`TrackingCounts` ``+``), so a sample's efficiency and purity are ratios of sums.

The TrackML score follows the challenge's library (``trackml.score``/``trackml.weights``): every
candidate's majority particle is a *good* match when it makes up more than half of the candidate and the
candidate holds more than half of its hits; the score is the summed weight of the hits of good
(candidate, particle) pairs. A hit's weight is ``w_pt × w_order``: ``w_pt`` is 0.2 up to pT 0.5 GeV, rising
linearly to 1 at 3 GeV; ``w_order`` interpolates the proposal (10, 8, 6, 5, 3, 3, 3, 5, 6) along the
particle's hits (more weight on the first and last hits), normalised to 1 per particle, 0 for particles
of fewer than 4 hits; weights are normalised to sum to 1 over the event. The one change: a hit's place on
its particle is the detector's ``hit_order`` (along the path) rather than the rank of |z − v_z|.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from hepxai.metrics.binomial import ONE_SIGMA, clopper_pearson

ORDER_PROPOSAL = (10.0, 8.0, 6.0, 5.0, 3.0, 3.0, 3.0, 5.0, 6.0)
ORDER_MIN_HITS = 4
ORDER_MAX_HITS = 20


@dataclass(frozen=True)
class TrackingCounts:
    """What the efficiency and purity of one or more events are made of; ``+`` adds events."""

    reconstructable: int
    matched_reconstructable: int
    candidates: int
    matched_non_reconstructable: int

    def __add__(self, other: TrackingCounts) -> TrackingCounts:
        return TrackingCounts(
            *(getattr(self, item.name) + getattr(other, item.name) for item in fields(self))
        )

    @property
    def efficiency(self) -> float:
        """matched reconstructable / reconstructable (NaN without reconstructable particles)."""
        return _ratio(self.matched_reconstructable, self.reconstructable)

    @property
    def purity(self) -> float:
        """matched reconstructable / (candidates − matched non-reconstructable)."""
        return _ratio(self.matched_reconstructable, self.candidates - self.matched_non_reconstructable)


@dataclass(frozen=True)
class ParticleMatches:
    """Per particle of an event (noise excluded), sorted by id."""

    particle_id: np.ndarray  # [P] int64
    num_hits: np.ndarray  # [P] int64
    reconstructable: np.ndarray  # [P] bool
    matched: np.ndarray  # [P] bool: some candidate matches it
    counts: TrackingCounts


def match_particles(
    candidate: np.ndarray,
    particle_id: np.ndarray,
    particle_pt: np.ndarray,
    *,
    pt_min: float,
    min_hits: int,
    min_candidate_hits: int = 3,
) -> ParticleMatches:
    """Match candidates to particles and count, for one event.

    Args:
        candidate: ``[H]`` candidate label per hit, −1 for none.
        particle_id: ``[H]`` truth, 0 for noise.
        particle_pt: ``[H]`` pT (GeV) of the hit's particle.
        pt_min: Reconstructable particles have pT above this.
        min_hits: Reconstructable particles have more hits than this.
        min_candidate_hits: Smaller candidates are dropped before matching and counting.
    """
    candidate = np.asarray(candidate, np.int64)
    (hit,) = np.nonzero(candidate >= 0)
    return match_memberships(
        hit,
        candidate[hit],
        particle_id,
        particle_pt,
        pt_min=pt_min,
        min_hits=min_hits,
        min_candidate_hits=min_candidate_hits,
    )


def match_memberships(
    hit: np.ndarray,
    candidate: np.ndarray,
    particle_id: np.ndarray,
    particle_pt: np.ndarray,
    *,
    pt_min: float,
    min_hits: int,
    min_candidate_hits: int = 3,
) -> ParticleMatches:
    """:func:`match_particles` for candidates that may share hits: candidate ``candidate[m]`` holds hit
    ``hit[m]`` (each pair once). A candidate is a set of hits; the 50%/50% rule is the same, so a hit in two
    candidates counts in both, and a particle is matched when any candidate matches it."""
    hit, candidate = np.asarray(hit, np.int64), np.asarray(candidate, np.int64)
    particle_id = np.asarray(particle_id, np.int64)
    _, inverse, size = np.unique(candidate, return_inverse=True, return_counts=True)
    large = size[inverse] >= min_candidate_hits
    hit, candidate = hit[large], candidate[large]
    ids, first, particle_hits = np.unique(particle_id, return_index=True, return_counts=True)
    real = ids != 0
    ids, particle_hits, pt = ids[real], particle_hits[real], np.asarray(particle_pt)[first[real]]
    reconstructable = is_reconstructable(particle_hits, pt, pt_min=pt_min, min_hits=min_hits)
    _, pair_particle, shared, candidate_size = _pairs(hit, candidate, particle_id)
    particle_index = np.searchsorted(ids, pair_particle)
    good = (pair_particle != 0) & (2 * shared > candidate_size)
    good[good] &= 2 * shared[good] > particle_hits[particle_index[good]]
    matched = np.zeros(len(ids), bool)
    matched[particle_index[good]] = True
    counts = TrackingCounts(
        reconstructable=int(reconstructable.sum()),
        matched_reconstructable=int((matched & reconstructable).sum()),
        candidates=len(np.unique(candidate)),
        matched_non_reconstructable=int((matched & ~reconstructable).sum()),
    )
    return ParticleMatches(ids, particle_hits, reconstructable, matched, counts)


def is_reconstructable(num_hits: np.ndarray, pt: np.ndarray, *, pt_min: float, min_hits: int) -> np.ndarray:
    """``[P]`` bool: the particle has more than ``min_hits`` hits and pT above ``pt_min`` (GeV)."""
    return (np.asarray(num_hits) > min_hits) & (np.asarray(pt) > pt_min)


def drop_small_candidates(candidate: np.ndarray, min_hits: int) -> np.ndarray:
    """``candidate`` with the labels of candidates smaller than ``min_hits`` hits set to −1 (no track)."""
    candidate = np.asarray(candidate, np.int64)
    _, inverse, size = np.unique(candidate, return_inverse=True, return_counts=True)
    return np.where((candidate >= 0) & (size[inverse] >= min_hits), candidate, -1)


def trackml_score(candidate: np.ndarray, particle_id: np.ndarray, weight: np.ndarray) -> float:
    """The TrackML score of one event: the weight of hits in good double-majority matches.

    Args:
        candidate: ``[H]`` candidate label per hit, −1 for none (those hits score nothing).
        particle_id: ``[H]`` truth, 0 for noise.
        weight: ``[H]`` hit weights (:func:`trackml_weights`).
    """
    candidate, particle_id = np.asarray(candidate, np.int64), np.asarray(particle_id, np.int64)
    weight = np.asarray(weight, np.float64)
    ids, particle_hits = np.unique(particle_id, return_counts=True)
    (member,) = np.nonzero(candidate >= 0)
    pair_candidate, pair_particle, shared, candidate_size = _pairs(member, candidate[member], particle_id)
    # the majority particle of each candidate: most shared hits, ties to the lower particle id
    order = np.lexsort((pair_particle, -shared, pair_candidate))
    first = np.ones(len(order), bool)
    first[1:] = pair_candidate[order][1:] != pair_candidate[order][:-1]
    majority = order[first]
    good = majority[
        (2 * shared[majority] > candidate_size[majority])
        & (2 * shared[majority] > particle_hits[np.searchsorted(ids, pair_particle[majority])])
        & (pair_particle[majority] != 0)
    ]
    assigned = candidate >= 0
    good_keys = _pair_key(pair_candidate[good], pair_particle[good], particle_id)
    hit_keys = _pair_key(candidate[assigned], particle_id[assigned], particle_id)
    return float(weight[assigned][np.isin(hit_keys, good_keys)].sum())


def trackml_weights(
    particle_id: np.ndarray, hit_order: np.ndarray, particle_nhits: np.ndarray, particle_pt: np.ndarray
) -> np.ndarray:
    """``[H]`` TrackML hit weights (see the module doc), summing to 1 over the event (0 without any).

    Args:
        particle_id: ``[H]`` truth, 0 for noise (weight 0).
        hit_order: ``[H]`` place of the hit along its particle, 0, 1, ...
        particle_nhits: ``[H]`` hits of the hit's particle.
        particle_pt: ``[H]`` pT (GeV) of the hit's particle.
    """
    nhits = np.minimum(np.asarray(particle_nhits, np.int64), ORDER_MAX_HITS)
    order = np.asarray(hit_order, np.int64)
    usable = (np.asarray(particle_id) != 0) & (nhits >= ORDER_MIN_HITS) & (order >= 0) & (order < nhits)
    weight = np.zeros(len(nhits))
    weight[usable] = _order_matrix()[nhits[usable], order[usable]] * weight_pt(
        np.asarray(particle_pt)[usable]
    )
    total = weight.sum()
    return weight / total if total > 0 else weight


def weight_pt(pt: np.ndarray) -> np.ndarray:
    """TrackML's pT weight: 0.2 from 0.05 to 0.5 GeV, linear to 1 at 3 GeV, 1 above, 0 below 0.05 GeV."""
    return np.interp(pt, [0.05, 0.5, 3.0], [0.2, 0.2, 1.0], left=0.0, right=1.0)


@dataclass(frozen=True)
class BinnedEfficiency:
    """Efficiency in bins of a quantity with its central 68.27% Clopper–Pearson interval."""

    edges: np.ndarray  # [B + 1]
    passed: np.ndarray  # [B] int64
    total: np.ndarray  # [B] int64
    efficiency: np.ndarray  # [B], NaN in empty bins
    lower: np.ndarray  # [B]
    upper: np.ndarray  # [B]


def binned_efficiency(
    values: np.ndarray, passed: np.ndarray, edges: np.ndarray, *, confidence: float = ONE_SIGMA
) -> BinnedEfficiency:
    """Efficiency per bin of ``values`` (e.g. reconstructable particles' pT) with exact binomial errors
    (:func:`hepxai.metrics.binomial.clopper_pearson`).

    Args:
        values: ``[N]`` the quantity of each trial.
        passed: ``[N]`` bool, the trial succeeded (the particle is matched).
        edges: ``[B + 1]`` increasing bin edges; values outside are ignored.
        confidence: Central probability of the interval (0.6827: ±1σ).
    """
    values, passed, edges = np.asarray(values), np.asarray(passed, bool), np.asarray(edges, np.float64)
    total = np.histogram(values, edges)[0]
    success = np.histogram(values[passed], edges)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = success / total
    lower, upper = clopper_pearson(success, total, confidence=confidence)
    return BinnedEfficiency(edges, success, total, efficiency, lower, upper)


def graph_efficiency_purity(edge_truth: np.ndarray, num_true_edges: int) -> tuple[float, float]:
    """(true edges kept / all true edges of the event, true edges / edges) of one graph."""
    edge_truth = np.asarray(edge_truth)
    kept = float((edge_truth > 0.5).sum())
    return _ratio(kept, num_true_edges), _ratio(kept, len(edge_truth))


def _pairs(hit: np.ndarray, candidate: np.ndarray, particle_id: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every (candidate, particle) pair sharing hits: candidate, particle, shared hits, candidate size."""
    keys, shared = np.unique(_pair_key(candidate, particle_id[hit], particle_id), return_counts=True)
    stride = int(particle_id.max(initial=0)) + 1
    pair_candidate, pair_particle = keys // stride, keys % stride
    labels, size = np.unique(candidate, return_counts=True)
    return pair_candidate, pair_particle, shared, size[np.searchsorted(labels, pair_candidate)]


def _pair_key(candidate: np.ndarray, particle: np.ndarray, particle_id: np.ndarray) -> np.ndarray:
    return candidate * (int(particle_id.max(initial=0)) + 1) + particle


@lru_cache(maxsize=1)
def _order_matrix() -> np.ndarray:
    """``[ORDER_MAX_HITS + 1, ORDER_MAX_HITS]`` weight of hit ``i`` on a particle of ``n`` hits."""
    matrix = np.zeros((ORDER_MAX_HITS + 1, ORDER_MAX_HITS))
    for nhits in range(ORDER_MIN_HITS, ORDER_MAX_HITS + 1):
        support = np.linspace(0, nhits - 1, len(ORDER_PROPOSAL))
        row = np.interp(np.arange(nhits), support, ORDER_PROPOSAL)
        matrix[nhits, :nhits] = row / row.sum()
    return matrix


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator > 0 else float("nan")
