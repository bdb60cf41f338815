"""Graph building for jets held as flat track arrays with per-jet counts, vectorized over all jets."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor


def fully_connected_edge_index(num_tracks: Tensor | np.ndarray) -> Tensor:
    """Directed edges between every ordered pair of distinct tracks within each jet.

    Edges are source-major, (0,1), (0,2), ..., (1,0), (1,2), ... per jet, as in the original HIN graphs
    (``itertools.permutations``); a jet of n tracks gets n(n-1) edges and no self loops. The local pattern
    of each jet size is precomputed once and gathered, which is several hundred times faster than
    deriving source and target by integer division per edge.

    Args:
        num_tracks: ``[num_jets]`` tracks per jet, in the order the tracks are stored.

    Returns:
        ``[2, sum n(n-1)]`` global track indices (row 0 source, row 1 target).
    """
    counts = np.asarray(num_tracks.cpu() if isinstance(num_tracks, Tensor) else num_tracks, dtype=np.int64)
    if len(counts) == 0 or counts.max() < 2:
        return torch.empty((2, 0), dtype=torch.long)
    source_pattern, target_pattern, pattern_start = _patterns(_capacity(int(counts.max())))
    edges_per_jet = counts * (counts - 1)
    first_edge = np.cumsum(edges_per_jet) - edges_per_jet
    pattern_index = np.arange(edges_per_jet.sum()) + np.repeat(
        pattern_start[counts] - first_edge, edges_per_jet
    )
    track_offset = np.repeat(np.cumsum(counts) - counts, edges_per_jet)
    return torch.from_numpy(
        np.stack([source_pattern[pattern_index] + track_offset, target_pattern[pattern_index] + track_offset])
    )


def _capacity(max_tracks: int) -> int:
    """Round up to a power of two (at least 64), so the pattern cache is rebuilt rarely."""
    return max(64, 1 << (max_tracks - 1).bit_length())


@lru_cache(maxsize=4)
def _patterns(capacity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local (source, target) pairs of every jet size up to ``capacity``, concatenated, and their starts."""
    sources, targets = [], []
    start = np.zeros(capacity + 2, dtype=np.int64)
    for n in range(capacity + 1):
        source, target = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        off_diagonal = source != target
        sources.append(source[off_diagonal])
        targets.append(target[off_diagonal])
        start[n + 1] = start[n] + off_diagonal.sum()
    return np.concatenate(sources), np.concatenate(targets), start
