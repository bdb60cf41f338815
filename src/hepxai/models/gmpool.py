"""GMPool: hits pooled into supernodes by a Gaussian-mixture cut on their embedding similarities.

The hierarchical GNN's pooling (the HGNN slides' backup, algorithms 1–4). Hit embeddings ``n_i`` live on
the unit sphere; every graph edge gets the score ``s_ij = atanh(n_i · n_j)``.

1. **Cut.** A two-component Gaussian mixture is fitted to the scores of the event's edges; the cut is
   where the log density of the upper ("in") component, weighted by its share, exceeds the lower one's by
   ``r``: ``ln π_in N(s; μ_in, σ_in) − ln π_out N(s; μ_out, σ_out) = r`` (the root where that difference
   rises). The mixture is fitted by EM in torch (float64, a fixed number of steps) from a fixed start —
   the lower and upper halves of the sorted scores — so the cut is deterministic, needs no random state
   and adds no scikit-learn call inside the model. With ``cut_momentum`` > 0 the cut used is a running
   one (the authors', momentum 0.95 in the bipartite model): each training event moves it 5% of the way
   to that event's cut, and evaluation uses it as trained, so the supernodes do not follow one event's fit.
2. **Supernodes.** The connected components of the edges above the cut, kept when larger than ``N_min``
   hits; a supernode's embedding is the normalised mean embedding of its hits (differentiable).
3. **Assignment graph.** Every hit joins its ``c`` nearest supernodes (largest ``n_i · X_α``); a learnt
   affine map of the similarity gives the score, and ``e^s`` normalised over the hit's ``c`` edges (a
   softmax) the weight, so a hit's weights sum to 1.
4. **Super graph.** Every supernode joins its ``k`` nearest other supernodes; the edges are symmetrised
   (each pair once each way) and weighted by ``sigmoid`` of an affine map of the similarity.

The slides standardise the similarities with a BatchNorm; a learnt affine map does the same job without
a difference between training and evaluation mode, so validation and track building see the function
that was trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import Tensor, nn
from torch.nn import functional

EM_STEPS = 50
"""EM iterations of the two-component fit (converged to ~1e-6 in the cut on the tests' mixtures)."""
CUT_MOMENTUM = 0.95
"""The authors' momentum of the running score cut over training events (the bipartite model's)."""
MAX_SIMILARITY = 1 - 1e-6
"""``n_i · n_j`` is clipped to ±this before ``atanh`` (identical embeddings would give infinity)."""


@dataclass(frozen=True)
class Mixture:
    """A fitted two-component Gaussian mixture on the edge scores: ``out`` the lower component, ``in`` the
    upper one."""

    weight_out: float
    mean_out: float
    sigma_out: float
    weight_in: float
    mean_in: float
    sigma_in: float

    def log_odds(self, score: float) -> float:
        """``ln π_in N(s; μ_in, σ_in) − ln π_out N(s; μ_out, σ_out)``."""
        upper = _log_weighted_density(score, self.weight_in, self.mean_in, self.sigma_in)
        return upper - _log_weighted_density(score, self.weight_out, self.mean_out, self.sigma_out)

    def quadratic(self) -> tuple[float, float, float]:
        """``(a, b, c)`` with ``log_odds(s) = a s² + b s + c``."""
        inv_in, inv_out = 1 / self.sigma_in**2, 1 / self.sigma_out**2
        return (inv_out - inv_in) / 2, self.mean_in * inv_in - self.mean_out * inv_out, self.log_odds(0.0)

    def cut(self, log_odds: float) -> float:
        """The score where the log odds rise through ``log_odds``; ``+inf`` where they never reach it
        (nothing passes), ``-inf`` where they never fall below it (everything passes)."""
        a, b, c = self.quadratic()
        c -= log_odds
        inv_in, inv_out = 1 / self.sigma_in**2, 1 / self.sigma_out**2
        if abs(a) < 1e-12 * (inv_in + inv_out):
            return -c / b if b > 0 else math.inf
        discriminant = b * b - 4 * a * c
        if discriminant < 0:
            return math.inf if a < 0 else -math.inf
        # the slope 2as + b at the root (−b ± √D) / 2a is ±√D: the rising one takes +
        return (-b + math.sqrt(discriminant)) / (2 * a)


def fit_mixture(scores: Tensor, steps: int = EM_STEPS) -> Mixture:
    """Two-component Gaussian mixture of ``scores`` by EM from the lower and upper halves.

    With two components the upper one's responsibility is ``sigmoid`` of the log odds, a quadratic in the
    score, and the M step needs only the responsibility-weighted sums of ``s`` and ``s²``: a handful of
    passes over the scores per step.

    Raises:
        ValueError: fewer than two scores.
    """
    values = scores.detach().double().reshape(-1).sort().values
    count = len(values)
    if count < 2:
        msg = f"fit_mixture: needs at least two scores (got {count})"
        raise ValueError(msg)
    squares = values.square()
    total_value, total_square = float(values.sum()), float(squares.sum())
    floor = 1e-6 * max(float(values[-1] - values[0]), 1e-12)
    halves = (values[: count // 2], values[count // 2 :])
    mixture = Mixture(
        *(x for half in halves for x in (0.5, float(half.mean()), max(float(half.std(correction=0)), floor)))
    )
    for _ in range(steps):
        a, b, c = mixture.quadratic()
        upper = torch.sigmoid(a * squares + b * values + c)
        weight_in = float(upper.sum())
        weight_in = min(max(weight_in, 1e-12), count - 1e-12)
        sum_in, square_in = float(upper @ values), float(upper @ squares)
        mean_in, mean_out = sum_in / weight_in, (total_value - sum_in) / (count - weight_in)
        variance_in = square_in / weight_in - mean_in**2
        variance_out = (total_square - square_in) / (count - weight_in) - mean_out**2
        mixture = Mixture(
            1 - weight_in / count,
            mean_out,
            max(math.sqrt(max(variance_out, 0.0)), floor),
            weight_in / count,
            mean_in,
            max(math.sqrt(max(variance_in, 0.0)), floor),
        )
    if mixture.mean_in < mixture.mean_out:  # the components swapped places: "in" is the upper one
        low = (mixture.weight_in, mixture.mean_in, mixture.sigma_in)
        return Mixture(*low, mixture.weight_out, mixture.mean_out, mixture.sigma_out)
    return mixture


def edge_scores(embedding: Tensor, edge_index: Tensor) -> Tensor:
    """``[E]`` ``atanh(n_i · n_j)`` of unit-length embeddings over the graph's edges."""
    # index_select: a backward that adds in a fixed order (hepxai.data.graphs.distance_and_direction)
    similarity = (embedding.index_select(0, edge_index[0]) * embedding.index_select(0, edge_index[1])).sum(1)
    return torch.atanh(similarity.clamp(-MAX_SIMILARITY, MAX_SIMILARITY))


def score_cut(scores: Tensor, log_odds: float) -> float:
    """Algorithm 1: the cut where the mixture's log odds of "in" over "out" reach ``log_odds`` (``r``)."""
    return fit_mixture(scores).cut(log_odds)


def supernode_labels(num_hits: int, edge_index: Tensor, keep: Tensor, min_size: int) -> Tensor:
    """``[num_hits]`` int64 supernode of each hit (−1 for none): connected components of the ``keep``
    edges with more than ``min_size`` hits, numbered 0, 1, ... in the order of their lowest hit."""
    source, target = edge_index[:, keep].cpu().numpy()
    adjacency = coo_matrix((np.ones(len(source), np.int8), (source, target)), shape=(num_hits, num_hits))
    component = torch.from_numpy(connected_components(adjacency, directed=False)[1].astype(np.int64))
    size = torch.bincount(component)
    large = size > min_size
    renumber = torch.cumsum(large.long(), 0) - 1
    return torch.where(large[component], renumber[component], torch.full_like(component, -1)).to(
        edge_index.device
    )


def supernode_embeddings(embedding: Tensor, label: Tensor) -> Tensor:
    """``[K, D]`` the normalised mean embedding of each supernode's hits (``label`` ≥ 0)."""
    member = label >= 0
    count = int(label.max()) + 1 if member.any() else 0
    total = embedding.new_zeros(count, embedding.shape[1]).index_add_(0, label[member], embedding[member])
    return functional.normalize(total, dim=1)


def nearest(query: Tensor, keys: Tensor, count: int, *, exclude_self: bool = False) -> Tensor:
    """``[Q, count']`` indices of the ``count' = min(count, available)`` keys of largest ``query · key``
    (ties to the lower index); ``exclude_self`` drops key ``q`` for query ``q``."""
    similarity = query.detach() @ keys.detach().T
    if exclude_self:
        similarity.fill_diagonal_(-math.inf)
    available = keys.shape[0] - (1 if exclude_self else 0)
    return torch.topk(similarity, min(count, available), dim=1, sorted=True).indices


@dataclass(frozen=True)
class Hierarchy:
    """The pooled structure of one event."""

    label: Tensor  # [H] int64 supernode of each hit's connected component, −1 for none
    supernode: Tensor  # [K, D] unit supernode embeddings
    assignment_index: Tensor  # [2, H·c'] (hit, supernode), each hit's c' = min(c, K) nearest, hit-major
    assignment_weight: Tensor  # [H·c'] e^s normalised over each hit's edges
    assignment_similarity: Tensor  # [H·c'] n_i · X_α of each assignment edge
    super_index: Tensor  # [2, S] (supernode, supernode), symmetric, each pair once each way
    super_weight: Tensor  # [S] sigmoid(s)
    cut: float  # the score cut of algorithm 1

    @property
    def num_supernodes(self) -> int:
        return self.supernode.shape[0]


class GMPool(nn.Module):
    """Algorithms 1–4: cut, supernodes, assignment graph, super graph; the two affine score maps learn.

    Args:
        log_odds: ``r``, the clustering granularity (higher: fewer edges pass, smaller supernodes).
        min_size: ``N_min``; supernodes have more hits than this.
        assignments: ``c``, the supernodes each hit joins.
        super_neighbours: ``k``, the nearest supernodes each supernode joins before symmetrising.
    """

    def __init__(
        self,
        log_odds: float,
        min_size: int,
        assignments: int,
        super_neighbours: int,
        cut_momentum: float = 0.0,
    ) -> None:
        super().__init__()
        if min_size < 0 or assignments < 1 or super_neighbours < 1:
            msg = (
                "GMPool: needs min_size >= 0, assignments >= 1 and super_neighbours >= 1 (got "
                f"{min_size}, {assignments}, {super_neighbours})"
            )
            raise ValueError(msg)
        self.log_odds, self.min_size = log_odds, min_size
        self.assignments, self.super_neighbours = assignments, super_neighbours
        self.cut_momentum = cut_momentum
        self.register_buffer("running_cut", torch.tensor(math.nan, dtype=torch.float64))
        self.assignment_scale = nn.Parameter(torch.tensor([1.0, 0.0]))  # (slope, offset) of s_iα
        self.super_scale = nn.Parameter(torch.tensor([1.0, 0.0]))

    def forward(self, embedding: Tensor, edge_index: Tensor) -> Hierarchy:
        """Pool ``[H, D]`` unit hit embeddings over the hit graph ``edge_index``."""
        num_hits = embedding.shape[0]
        scores = edge_scores(embedding.detach(), edge_index)
        cut = self._cut(scores)
        label = supernode_labels(num_hits, edge_index, scores > cut, self.min_size)
        supernode = supernode_embeddings(embedding, label)
        hits = torch.arange(num_hits, device=embedding.device)
        if supernode.shape[0] == 0:
            empty = torch.zeros(2, 0, dtype=torch.long, device=embedding.device)
            none = embedding.new_zeros(0)
            return Hierarchy(label, supernode, empty, none, none, empty, none, cut)
        chosen = nearest(embedding, supernode, self.assignments)  # [H, c']
        similarity = (embedding[:, None, :] * supernode[chosen]).sum(2)
        weight = torch.softmax(self.assignment_scale[0] * similarity + self.assignment_scale[1], dim=1)
        assignment_index = torch.stack([hits.repeat_interleave(chosen.shape[1]), chosen.reshape(-1)])
        super_index = self._super_graph(supernode)
        super_similarity = (supernode[super_index[0]] * supernode[super_index[1]]).sum(1)
        super_weight = torch.sigmoid(self.super_scale[0] * super_similarity + self.super_scale[1])
        return Hierarchy(
            label,
            supernode,
            assignment_index,
            weight.reshape(-1),
            similarity.reshape(-1),
            super_index,
            super_weight,
            cut,
        )

    def _cut(self, scores: Tensor) -> float:
        """The running cut: in training each event's mixture cut moves it ``1 − cut_momentum`` of the way
        when it lies between the two components' means (the authors' rule: an event whose fit failed does
        not move it); evaluation uses it as trained. Before any training event, or with ``cut_momentum``
        0, each event's own cut."""
        running = float(self.running_cut)
        if not self.training and not math.isnan(running):
            return running
        if len(scores) < 2:
            return math.inf if math.isnan(running) else running
        mixture = fit_mixture(scores)
        cut = mixture.cut(self.log_odds)
        if not self.training or self.cut_momentum <= 0:
            return cut
        if mixture.mean_out < cut < mixture.mean_in:
            running = cut if math.isnan(running) else running + (1 - self.cut_momentum) * (cut - running)
            self.running_cut.fill_(running)
        return cut if math.isnan(running) else running

    def _super_graph(self, supernode: Tensor) -> Tensor:
        """``[2, S]`` kNN among supernodes, symmetrised, sorted, each ordered pair once."""
        count = supernode.shape[0]
        if count < 2:
            return torch.zeros(2, 0, dtype=torch.long, device=supernode.device)
        neighbour = nearest(supernode, supernode, self.super_neighbours, exclude_self=True)
        source = torch.arange(count, device=supernode.device).repeat_interleave(neighbour.shape[1])
        pairs = torch.cat(
            [torch.stack([source, neighbour.reshape(-1)]), torch.stack([neighbour.reshape(-1), source])], 1
        )
        return torch.unique(pairs, dim=1)


def _log_weighted_density(score: float, weight: float, mean: float, sigma: float) -> float:
    return (
        math.log(weight) - math.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * ((score - mean) / sigma) ** 2
    )
