"""Secondary vertices from a jet's displaced tracks, and each track's distance in ΔR to the nearest one.

A simple two-track vertex finder in the spirit of CMS's inclusive vertex finding: tracks with a 3D
impact-parameter significance above ``SEED_SIGNIFICANCE`` pair up where their lines (straight near the
vertex) pass within ``MAX_PAIR_SIGNIFICANCE`` combined errors of each other, at a point displaced from the
primary vertex by more than ``MIN_FLIGHT_SIGNIFICANCE`` standard deviations in the transverse plane, ahead
of it along the pair's momentum; opposite-charge pairs of K0S mass are vetoed. Pairs sharing tracks form a
group; its vertex sits at the median of the pairs' points and keeps the group's tracks that pass it within
their errors (at least two). The vertex momentum is the sum of its tracks' (the direction
``track_drminsv`` measures ΔR to), its mass below ``MAX_VERTEX_MASS``. Units: cm, GeV.
"""

from __future__ import annotations

import numpy as np

from hepxai.data.simulate.impact import PRIMARY_VERTEX_RESOLUTION_CM

SEED_SIGNIFICANCE = 2.0
MAX_PAIR_SIGNIFICANCE = 3.0  # closest approach of two track lines, in units of their combined dxy error
MIN_FLIGHT_SIGNIFICANCE = 3.0
MAX_VERTEX_MASS = 6.5  # GeV, above any b hadron
K0S_MASS, K0S_WINDOW = 0.4976, 0.02  # GeV
DR_CAP = 0.8  # track_drminsv = min(dR, 0.8) - 0.8, as in the CMS ntuples


def secondary_vertices(
    reference: np.ndarray,
    momentum: np.ndarray,
    charge: np.ndarray,
    significance: np.ndarray,
    dxy_error: np.ndarray,
    primary_vertex: np.ndarray,
) -> np.ndarray:
    """The four-momenta ``[V, 4]`` of the secondary vertices found among the tracks.

    Args:
        reference: [T, 3] a point of each track line (the perigee).
        momentum: [T, 4] the tracks' four-momenta.
        charge: [T] their charges.
        significance: [T] 3D impact-parameter significance (unsigned is enough).
        dxy_error: [T] transverse impact-parameter error, for the vertex's position error.
        primary_vertex: [3].
    """
    seeds = np.flatnonzero(np.abs(significance) > SEED_SIGNIFICANCE)
    first, second = np.triu_indices(len(seeds), k=1)
    first, second = seeds[first], seeds[second]
    unit = momentum[:, :3] / np.linalg.norm(momentum[:, :3], axis=1, keepdims=True)
    point, distance = _closest_approach(reference[first], unit[first], reference[second], unit[second])
    flight = point - primary_vertex
    pair_error = np.hypot(dxy_error[first], dxy_error[second])
    position_error = np.hypot(PRIMARY_VERTEX_RESOLUTION_CM[0], pair_error / 2)
    pair_momentum = momentum[first] + momentum[second]
    accepted = (
        (distance < MAX_PAIR_SIGNIFICANCE * pair_error)
        & (np.hypot(flight[:, 0], flight[:, 1]) > MIN_FLIGHT_SIGNIFICANCE * position_error)
        & (np.einsum("ij,ij->i", flight, pair_momentum[:, :3]) > 0)
        & ~((charge[first] != charge[second]) & (np.abs(_mass(pair_momentum) - K0S_MASS) < K0S_WINDOW))
    )
    first, second, point = first[accepted], second[accepted], point[accepted]
    group = _connected(len(charge), first, second)
    vertices = []
    for label in np.unique(group[first]):
        in_group = group[first] == label
        position = np.median(point[in_group], axis=0)
        candidates = np.flatnonzero(group == label)
        # the tracks of the group whose lines pass the vertex within their errors
        offset = position - reference[candidates]
        miss = np.linalg.norm(
            offset - np.einsum("ij,ij->i", offset, unit[candidates])[:, None] * unit[candidates], axis=1
        )
        members = candidates[miss < MAX_PAIR_SIGNIFICANCE * dxy_error[candidates]]
        total = momentum[members].sum(axis=0)
        if len(members) >= 2 and _mass(total[None])[0] < MAX_VERTEX_MASS:
            vertices.append(total)
    return np.array(vertices).reshape(-1, 4)


def drminsv(momentum: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """``min(ΔR(track, nearest vertex), 0.8) - 0.8`` per track (0 when there is no vertex)."""
    if len(vertices) == 0:
        return np.zeros(len(momentum))
    eta, phi = _eta_phi(momentum)
    vertex_eta, vertex_phi = _eta_phi(vertices)
    delta_phi = (phi[:, None] - vertex_phi[None, :] + np.pi) % (2 * np.pi) - np.pi
    delta_r = np.hypot(eta[:, None] - vertex_eta[None, :], delta_phi).min(axis=1)
    return np.minimum(delta_r, DR_CAP) - DR_CAP


def _closest_approach(
    a: np.ndarray, u: np.ndarray, b: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints ``[P, 3]`` and distances ``[P]`` where the lines ``a + t u`` and ``b + s v`` come closest."""
    w = a - b
    uv, uw, vw = (np.einsum("ij,ij->i", x, y) for x, y in ((u, v), (u, w), (v, w)))
    denominator = np.maximum(1 - uv**2, 1e-12)  # unit directions; parallel lines have no vertex
    t = (uv * vw - uw) / denominator
    s = (vw - uv * uw) / denominator
    on_first, on_second = a + t[:, None] * u, b + s[:, None] * v
    return (on_first + on_second) / 2, np.linalg.norm(on_first - on_second, axis=1)


def _connected(size: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Component label per node of the graph with edges ``first``-``second`` (union-find)."""
    parent = np.arange(size)

    def root(node: int) -> int:
        while parent[node] != node:
            node = parent[node]
        return node

    for i, j in zip(first.tolist(), second.tolist(), strict=True):
        parent[root(i)] = root(j)
    return np.array([root(node) for node in range(size)])


def _mass(momentum: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(momentum[:, 3] ** 2 - np.sum(momentum[:, :3] ** 2, axis=1), 0.0))


def _eta_phi(momentum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    return np.arcsinh(momentum[:, 2] / pt), np.arctan2(momentum[:, 1], momentum[:, 0])
