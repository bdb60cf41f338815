"""Track candidates as connected components of the kept edges of a hit graph (scipy), and Truth-CC.

Truth-CC keeps exactly the graph's true edges: its candidates are the best that edge classification on
that graph can reach, the upper bound the slides report.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def track_candidates(
    num_hits: int, edge_index: np.ndarray | torch.Tensor, keep: np.ndarray | torch.Tensor
) -> np.ndarray:
    """``[num_hits]`` int64 candidate label per hit: the connected component of the kept edges.

    Labels count components 0, 1, ... in the order of their lowest hit; a hit without kept edges is its
    own component (metrics drop candidates smaller than their ``min_candidate_hits``).

    Args:
        num_hits: Hits in the event.
        edge_index: ``[2, E]`` hit pairs (direction does not matter).
        keep: ``[E]`` bool, the edges that pass (e.g. ``score > cut``).
    """
    edge_index = np.asarray(edge_index, np.int64)
    keep = np.asarray(keep, bool)
    source, target = edge_index[:, keep]
    adjacency = coo_matrix((np.ones(len(source), np.int8), (source, target)), shape=(num_hits, num_hits))
    _, labels = connected_components(adjacency, directed=False)
    return labels.astype(np.int64)


def truth_cc(
    num_hits: int, edge_index: np.ndarray | torch.Tensor, edge_truth: np.ndarray | torch.Tensor
) -> np.ndarray:
    """Truth-CC candidates: :func:`track_candidates` on the graph's true edges (``edge_truth > 0.5``)."""
    return track_candidates(num_hits, edge_index, np.asarray(edge_truth) > 0.5)
