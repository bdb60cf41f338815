"""Track candidates of the embedding and hierarchical models: HDBSCAN on hit embeddings, or the
assignment edges of the bipartite HGNN above a score cut.

HDBSCAN (scikit-learn's ``sklearn.cluster.HDBSCAN``, Euclidean distance of the unit embeddings) gives one
label per hit, −1 for a hit in no cluster: the candidates the tracking metrics
(:mod:`hepxai.metrics.tracking`) score. The bipartite model's candidates are its supernodes, each holding
the hits whose assignment edge to it scores above the cut, so a hit may join several candidates or none:
:class:`Memberships` lists (hit, candidate) pairs, and :meth:`Memberships.labels` keeps each hit's best
one for the one-label TrackML score, while efficiency and purity match the candidates as sets of hits
(:func:`hepxai.metrics.tracking.match_memberships`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import HDBSCAN
from torch_geometric.data import Data

from hepxai.models.hgnn import HGNNBipartite, HierarchicalGNN
from hepxai.models.registry import GraphModel
from hepxai.tracking.reconstruction import EventTracks

MIN_CLUSTER_SIZE = 5
"""HDBSCAN's smallest cluster (the authors' ``inference_min_cluster_size``)."""
SCORE_CUT = 0.7
"""The bipartite candidates' score cut (the authors' ``score_cut``)."""


@dataclass(frozen=True)
class Memberships:
    """Which hits each candidate holds: ``candidate[m]`` holds ``hit[m]`` with score ``score[m]``."""

    num_hits: int
    hit: np.ndarray  # [M] int64
    candidate: np.ndarray  # [M] int64, 0, 1, ... in the order of the supernodes
    score: np.ndarray  # [M] float in (0, 1)

    def labels(self) -> np.ndarray:
        """``[num_hits]`` each hit's highest-scoring candidate (ties to the lower candidate), −1 for none."""
        label = np.full(self.num_hits, -1, np.int64)
        order = np.lexsort((-self.candidate, self.score))  # the best membership of a hit comes last
        label[self.hit[order]] = self.candidate[order]
        return label


def hdbscan_candidates(
    embedding: np.ndarray | torch.Tensor, min_cluster_size: int = MIN_CLUSTER_SIZE
) -> np.ndarray:
    """``[H]`` int64 HDBSCAN cluster of each hit's embedding, −1 for a hit in no cluster."""
    points = np.asarray(embedding, np.float64)
    if len(points) < 2:
        return np.full(len(points), -1, np.int64)
    return HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(points).astype(np.int64)


def bipartite_candidates(
    num_hits: int, assignment_index: np.ndarray | torch.Tensor, scores: np.ndarray | torch.Tensor, cut: float
) -> Memberships:
    """The assignment edges above ``cut``; candidates are the supernodes that keep any, renumbered 0, 1, ...

    Args:
        num_hits: Hits in the event.
        assignment_index: ``[2, A]`` (hit, supernode) edges.
        scores: ``[A]`` probabilities.
        cut: Edges scoring above it are kept.
    """
    hit, supernode = np.asarray(assignment_index, np.int64)
    scores = np.asarray(scores, np.float64)
    kept = scores > cut
    _, candidate = np.unique(supernode[kept], return_inverse=True)
    return Memberships(num_hits, hit[kept], candidate.astype(np.int64), scores[kept])


@torch.no_grad()
def hierarchical_tracks(
    model: GraphModel, event: Data, *, cut: float = SCORE_CUT, min_cluster_size: int = MIN_CLUSTER_SIZE
) -> EventTracks:
    """The candidates of ``event``: the bipartite model's assignment edges above ``cut`` (with their
    (hit, candidate) memberships), or HDBSCAN on the embedding of any other (embedding) model; eval mode.
    Timed per stage: ``inference`` (the model) and ``components`` (the score cut or HDBSCAN). A
    hierarchical model's tracks also carry the number of supernodes its pooling made, from the same
    forward pass."""
    model.eval()
    start = time.perf_counter()
    num_hits = event.x.shape[0]
    supernodes = None
    if isinstance(model, HGNNBipartite):
        output = model.outputs(event)
        scores = torch.sigmoid(output.assignment_logits)
        middle = time.perf_counter()
        memberships = bipartite_candidates(num_hits, output.hierarchy.assignment_index, scores, cut)
        candidate, shared = memberships.labels(), (memberships.hit, memberships.candidate)
        supernodes = output.hierarchy.num_supernodes
    else:
        if isinstance(model, HierarchicalGNN):
            output = model.outputs(event)
            embedding, supernodes = output.embedding, output.hierarchy.num_supernodes
        else:
            embedding = model(event)
        middle = time.perf_counter()
        candidate, shared = hdbscan_candidates(embedding, min_cluster_size), None
    seconds = {"inference": middle - start, "components": time.perf_counter() - middle}
    return EventTracks(candidate, None, seconds, shared, supernodes)
