"""Primary vertices reconstructed from fitted tracks: clustering in z, adaptive fits, the hardest one first.

In the spirit of CMS's offline primary-vertex reconstruction (CMS, JINST 9 (2014) P10009, section 6): tracks
compatible with the beam line (transverse impact-parameter significance w.r.t. the beam spot below
``MAX_D0_SIGNIFICANCE``, chi2/ndof below ``MAX_NORMCHI2``) are sorted by their z at closest approach to the
beam line and split where neighbours are more than ``Z_SEPARATION_CM`` apart (CMS's gap clustering; CMS
has used deterministic annealing since 2011, which separates vertices a few mm apart more often). Each
cluster is fitted by an adaptive vertex fit (Fruhwirth, Waltenberger, J. Phys. G 34 (2007) N343): tracks
are weighted by ``1 / (1 + exp((chi2 - CHI_CUT^2) / 2T))`` while the temperature ``T`` falls from 256 to 1,
with a beam-spot constraint in x and y. Tracks a fit leaves out (weight < 0.5) are clustered and fitted once
more, so a pile-up vertex merged into a cluster is recovered. A vertex needs ndof = 2 sum(w) - 3 > 0. The
vertices are sorted by the sum of pT^2 of their tracks (weight > 0.5): the first is the primary vertex.

Tracks are straight lines near the beam line (their perigees w.r.t. it); positions in cm, momenta in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepxai.data.simulate.generation import BEAM_SPOT_SIGMA_MM

MAX_D0_SIGNIFICANCE = 4.0
MAX_NORMCHI2 = 20.0
Z_SEPARATION_CM = 0.2
CHI_CUT = 3.0
TEMPERATURES = (256.0, 64.0, 16.0, 4.0, 1.0, 1.0, 1.0)  # annealing, then iterations at T = 1
_BEAM_SPOT_XY_CM = BEAM_SPOT_SIGMA_MM[0] / 10  # mm to cm


@dataclass(frozen=True)
class TrackLines:
    """Tracks as straight lines near the beam line, with the covariance of their (dxy, dz)."""

    reference: np.ndarray  # [T, 3] a point of the line (the perigee), cm
    momentum: np.ndarray  # [T, 3] GeV
    covariance: np.ndarray  # [T, 2, 2] of (dxy, dz), cm^2

    def residuals(self, point: np.ndarray) -> np.ndarray:
        """``[T, 2]`` (dxy, dz) of every track w.r.t. ``point`` [3]; linear in the point."""
        return np.einsum("tij,tj->ti", _design(self.momentum), self.reference - point)


def concatenate_lines(*parts: TrackLines) -> TrackLines:
    """The tracks of ``parts``, in order."""
    return TrackLines(
        *(np.concatenate([getattr(part, name) for part in parts]) for name in TrackLines.__dataclass_fields__)
    )


@dataclass(frozen=True)
class Vertices:
    """Reconstructed vertices, hardest (sum of pT^2) first: vertex 0 is the primary vertex."""

    position: np.ndarray  # [V, 3] cm
    covariance: np.ndarray  # [V, 3, 3] cm^2
    weight: np.ndarray  # [V, T] each track's weight in each vertex's fit (0 when not in it)
    ndof: np.ndarray  # [V] 2 sum(w) - 3
    sum_pt2: np.ndarray  # [V] GeV^2

    def __len__(self) -> int:
        return len(self.position)


def find_vertices(tracks: TrackLines, normchi2: np.ndarray) -> Vertices:
    """The vertices of ``tracks`` (module docstring); ``normchi2`` [T] is each track fit's chi2/ndof."""
    at_beam = tracks.residuals(np.zeros(3))
    d0_significance = np.abs(at_beam[:, 0]) / np.sqrt(tracks.covariance[:, 0, 0] + _BEAM_SPOT_XY_CM**2)
    usable = np.flatnonzero((d0_significance < MAX_D0_SIGNIFICANCE) & (normchi2 < MAX_NORMCHI2))
    fits = []
    left_out: list[np.ndarray] = []
    for cluster in _gap_clusters(usable, at_beam[usable, 1]):
        weight, fit = _adaptive_fit(tracks, cluster)
        fits.append((weight, fit))
        left_out.append(cluster[weight[cluster] < 0.5])
    leftovers = np.sort(np.concatenate([np.zeros(0, np.int64), *left_out]))
    for cluster in _gap_clusters(leftovers, at_beam[leftovers, 1]):
        fits.append(_adaptive_fit(tracks, cluster))
    pt2 = np.sum(tracks.momentum[:, :2] ** 2, axis=1)
    kept = [(w, f) for w, f in fits if 2 * w.sum() - 3 > 0]
    sum_pt2 = np.array([pt2[w > 0.5].sum() for w, _ in kept])
    order = np.argsort(-sum_pt2, kind="stable")
    kept = [kept[i] for i in order]
    num_tracks = len(tracks.reference)
    return Vertices(
        position=np.array([f[0] for _, f in kept]).reshape(-1, 3),
        covariance=np.array([f[1] for _, f in kept]).reshape(-1, 3, 3),
        weight=np.array([w for w, _ in kept]).reshape(-1, num_tracks),
        ndof=np.array([2 * w.sum() - 3 for w, _ in kept]),
        sum_pt2=sum_pt2[order],
    )


def _gap_clusters(rows: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
    """``rows`` split into groups of at least two where their sorted ``z`` jumps by > ``Z_SEPARATION_CM``."""
    order = np.argsort(z, kind="stable")
    breaks = np.flatnonzero(np.diff(z[order]) > Z_SEPARATION_CM) + 1
    return [rows[group] for group in np.split(order, breaks) if len(group) >= 2]


def _adaptive_fit(tracks: TrackLines, rows: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Weights ``[T]`` (0 outside ``rows``) and (position, covariance) of an adaptive fit of ``rows``."""
    design = _design(tracks.momentum[rows])
    inverse = np.linalg.inv(tracks.covariance[rows])
    information = np.einsum("tki,tkl,tlj->tij", design, inverse, design)  # A^T C^-1 A per track
    pulled = np.einsum("tij,tj->ti", information, tracks.reference[rows])
    weight = np.ones(len(rows))
    position, covariance = _weighted_fit(information, pulled, weight)
    for temperature in TEMPERATURES:
        residual = np.einsum("tij,tj->ti", design, tracks.reference[rows] - position)
        chi2 = np.einsum("ti,tij,tj->t", residual, inverse, residual)
        weight = 1 / (1 + np.exp(np.minimum((chi2 - CHI_CUT**2) / (2 * temperature), 700.0)))
        position, covariance = _weighted_fit(information, pulled, weight)
    full = np.zeros(len(tracks.reference))
    full[rows] = weight
    return full, (position, covariance)


def _weighted_fit(
    information: np.ndarray, pulled: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The point minimising sum_t w_t |A_t (r_t - v)|^2_{C_t} plus the beam-spot constraint in x and y
    (centred on the beam line), and its covariance."""
    matrix = np.einsum("t,tij->ij", weight, information) + np.diag([1.0, 1.0, 0.0]) / _BEAM_SPOT_XY_CM**2
    matrix[2, 2] = max(matrix[2, 2], 1e-12)
    covariance = np.linalg.inv(matrix)
    return covariance @ np.einsum("t,ti->i", weight, pulled), covariance


def _design(momentum: np.ndarray) -> np.ndarray:
    """``[T, 2, 3]``: (dxy, dz) of a straight track = A (reference - point), A from its direction.

    dxy = offset . (-uy, ux, 0), dz = offset_z - (offset . (ux, uy, 0)) pz / pT, with (ux, uy) the
    transverse unit vector of the momentum (CMS's reco::Track::dxy and dz).
    """
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    ux, uy, cot = momentum[:, 0] / pt, momentum[:, 1] / pt, momentum[:, 2] / pt
    design = np.zeros((len(momentum), 2, 3))
    design[:, 0, 0], design[:, 0, 1] = -uy, ux
    design[:, 1, 0], design[:, 1, 1], design[:, 1, 2] = -ux * cot, -uy * cot, 1.0
    return design
