"""Graph building for jets held as flat track arrays with per-jet counts, vectorized over all jets."""

from __future__ import annotations

import torch
from torch import Tensor


def fully_connected_edge_index(num_tracks: Tensor) -> Tensor:
    """Directed edges between every ordered pair of distinct tracks within each jet.

    Edges are source-major, (0,1), (0,2), ..., (1,0), (1,2), ... per jet, as in the original HIN graphs
    (``itertools.permutations``); a jet of n tracks gets n(n-1) edges and no self loops.

    Args:
        num_tracks: ``[num_jets]`` tracks per jet, in the order the tracks are stored.

    Returns:
        ``[2, sum n(n-1)]`` global track indices (row 0 source, row 1 target).
    """
    num_tracks = num_tracks.to(torch.long)
    edges_per_jet = num_tracks * (num_tracks - 1)
    total = int(edges_per_jet.sum())
    if total == 0:
        return torch.empty((2, 0), dtype=torch.long)
    offsets = torch.cumsum(num_tracks, 0) - num_tracks
    edge_offsets = torch.cumsum(edges_per_jet, 0) - edges_per_jet
    jet = torch.repeat_interleave(torch.arange(len(num_tracks)), edges_per_jet)
    local = torch.arange(total) - edge_offsets[jet]
    others = (num_tracks - 1)[jet]
    source = local // others
    target = local % others
    target = target + (target >= source).long()
    return torch.stack([source + offsets[jet], target + offsets[jet]])
