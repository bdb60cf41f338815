"""Synthetic point clouds whose label is carried by known points: a short track of energetic points.

Every cloud holds 20–40 points in the cube ``[-1, 1]³``, one short straight track of ``m`` points (4–6
collinear points, evenly spaced by 0.2 along a random direction) and ``2m`` "hot" points (energy in [1, 2];
every other point has energy in [0, 1)). In a **positive** cloud ``m`` of the hot points *are* the track and
the other ``m`` are scattered at random (decoys); in a **negative** cloud the track is cold and all ``2m``
hot points are scattered. Both classes therefore hold one track and the same number of hot points: neither
the geometry alone nor the features alone tell them apart, only whether energetic points lie on the track.
The track's points are ``node_truth`` of a positive cloud (the decoys are not); a negative cloud has no
true points. Ranking points by energy finds the truth only partly (the decoys are as hot). Points are
stored in random order, so their position in the cloud says nothing.

Features per point (``x``): ``energy`` and two N(0, 1) noise features. The graph is the LRI paper's: the
5 nearest neighbours of every point plus a self loop, with edge features ``(‖Δr‖, Δr/‖Δr‖)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.data.graphs import distance_and_direction, knn_edge_index

FEATURE_NAMES = ("energy", "noise_0", "noise_1")
TRACK_SPACING = 0.2


def synthetic_point_clouds(
    num_clouds: int,
    *,
    seed: int = 0,
    points: tuple[int, int] = (20, 40),
    track_points: tuple[int, int] = (4, 6),
    k: int = 5,
) -> list[Data]:
    """``num_clouds`` point clouds, half of them positive (in random order); the same seed gives the same set.

    Args:
        num_clouds: How many clouds.
        seed: Seeds every random draw.
        points: Smallest and largest number of points per cloud (inclusive).
        track_points: Smallest and largest number of track points (inclusive).
        k: Neighbours per point in the graph (a self loop comes on top).

    Returns:
        PyG ``Data`` with ``x`` ``[n, 3]`` and ``pos`` ``[n, 3]`` (float32), ``edge_index`` ``[2, E]`` and
        ``edge_attr`` ``[E, 4]``, ``y`` ``[1]`` (int64, 1 = positive) and ``node_truth`` ``[n]`` (bool).

    Raises:
        ValueError: a cloud could not hold its track and hot points (``points[0] < 3 * track_points[1]``).
    """
    if num_clouds < 0 or not 2 <= track_points[0] <= track_points[1] or points[0] > points[1]:
        msg = (
            f"synthetic_point_clouds: bad sizes "
            f"(num_clouds={num_clouds}, points={points}, track_points={track_points})"
        )
        raise ValueError(msg)
    if points[0] < 3 * track_points[1]:
        msg = (
            f"synthetic_point_clouds: points[0]={points[0]} cannot hold a track and twice as many hot points "
            f"(3 × {track_points[1]})"
        )
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_clouds) % 2)
    return [_cloud(rng, bool(label), points, track_points, k) for label in labels]


# The columns of ``x``: the energy that marks hot points, then two features of pure noise.
FEATURES = ("energy", "noise_1", "noise_2")


def _cloud(
    rng: np.random.Generator, positive: bool, points: tuple[int, int], track_points: tuple[int, int], k: int
) -> Data:
    num_points = int(rng.integers(points[0], points[1] + 1))
    num_track = int(rng.integers(track_points[0], track_points[1] + 1))
    pos = rng.uniform(-1.0, 1.0, size=(num_points, 3))
    energy = rng.uniform(0.0, 1.0, size=num_points)
    pos[:num_track] = _track(rng, num_track)
    hot = slice(0, 2 * num_track) if positive else slice(num_track, 3 * num_track)
    energy[hot] = rng.uniform(1.0, 2.0, size=2 * num_track)
    truth = np.zeros(num_points, dtype=bool)
    truth[:num_track] = positive
    x = np.column_stack([energy, rng.standard_normal((num_points, 2))])
    order = rng.permutation(num_points)
    pos_t = torch.from_numpy(pos[order]).float()
    edge_index = knn_edge_index(pos_t, None, k, loop=True)
    return Data(
        x=torch.from_numpy(x[order]).float(),
        pos=pos_t,
        edge_index=edge_index,
        edge_attr=distance_and_direction(pos_t, edge_index),
        y=torch.tensor([int(positive)]),
        node_truth=torch.from_numpy(truth[order]),
    )


def _track(rng: np.random.Generator, num_track: int) -> np.ndarray:
    """``[num_track, 3]`` collinear points ``TRACK_SPACING`` apart in a random direction, inside the cube."""
    direction = rng.standard_normal(3)
    direction /= np.linalg.norm(direction)
    steps = TRACK_SPACING * np.arange(num_track)[:, None] * direction
    length = steps[-1]
    low, high = -1.0 - np.minimum(length, 0.0), 1.0 - np.maximum(length, 0.0)
    return rng.uniform(low, high) + steps
