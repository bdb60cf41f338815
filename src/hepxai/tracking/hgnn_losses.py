"""What the embedding and hierarchical models minimise: a hinge loss on hit pairs, the bipartite
assignment loss with its supernode–particle matching, and the fading "training wheel".

* **Pairs.** Every edge of the event's graph and ``random_pairs_per_hit`` × hits uniformly drawn hit
  pairs (self-pairs dropped); a pair is *true* when both hits belong to one particle (noise hits belong to
  none). Random pairs are drawn from ``(seed, epoch, event id)``, so a resumed run draws the same ones.
  The embedding models' output loss adds each hit's ``neighbour_pairs_per_hit`` nearest hits in the
  current output embedding closer than the margin (:func:`neighbour_pairs`, the authors' radius graph of
  the embedding): random pairs are almost all far apart already, so without these hard negatives nearby
  tracks are never pushed apart and HDBSCAN merges them.
* **Hinge embedding loss** on the Euclidean distance ``d`` of two unit embeddings (the authors'):
  ``d²`` for a true pair, ``max(0, margin − d)²`` for a false one; true and false pairs weigh half each.
* **Matching** (:func:`match_supernodes`): each particle is matched to at most one supernode and each
  supernode to at most one particle, maximising the number of the particles' hits inside their matched
  supernode's component, then (for the particles left) the number of their hits assigned to it (a linear
  assignment, ``scipy.optimize.linear_sum_assignment``, on those counts in lexicographic order); pairs
  without any such hit are never matched, noise is never matched. An assignment edge is *true* when its
  hit's particle is matched to its supernode, so a track split over two supernodes is learnt as one track
  (the larger part) and the other supernode's edges as false. The authors match on the model's own
  assignment scores instead; that truth follows the classifier, which can then settle on a consistent but
  wrong pairing (particles matched to a neighbouring supernode): the counts do not depend on the model.
* **Bipartite loss**: binary cross entropy of every assignment edge's logit against that truth, true and
  false edges weighing half each.
* **Training wheel**: a hinge loss on the intermediate embedding (the one GMPool clusters) with weight
  ``w(epoch) = 1 − sin(π/2 · (epoch − 1) / wheel_epochs)``, falling from 1 at epoch 1 to 0 at
  ``wheel_epochs + 1`` and 0 after (the authors' schedule); the bipartite model's never falls below
  ``wheel_floor``: its pooled embedding keeps its own loss (detached from the assignment loss, nothing
  else trains it). The embedding HGNN's output hinge loss reaches its pooling, so it needs no floor.
  The bipartite objective is ``w · wheel + (1 − w) · assignment``; the embedding HGNN's is
  ``hinge(output) + w · wheel``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from torch import Tensor
from torch.nn import functional
from torch_geometric.data import Batch, Data

from hepxai.models.hgnn import HierarchicalGNN
from hepxai.models.registry import GraphModel
from hepxai.training import Objective

LOGIT_BOUND = 20.0
"""Pair logits from assignments are clipped to ±this: a probability of 0 or 1 has no finite logit."""


def training_pairs(event: Data, random_pairs_per_hit: float, rng: np.random.Generator) -> Tensor:
    """``[2, P]`` the event's edges followed by ``random_pairs_per_hit × H`` random hit pairs."""
    num_hits = event.x.shape[0]
    random = torch.from_numpy(rng.integers(0, num_hits, size=(2, int(random_pairs_per_hit * num_hits))))
    random = random[:, random[0] != random[1]]
    return torch.cat([event.edge_index, random], dim=1)


def neighbour_pairs(embedding: Tensor, count: int, radius: float) -> Tensor:
    """``[2, P]`` each hit with its ``count`` nearest other hits closer than ``radius`` in ``embedding``
    (no gradient; scipy's k-d tree), true pairs among them included."""
    points = embedding.detach().cpu().numpy()
    neighbours = min(count, len(points) - 1)
    if neighbours < 1:
        return torch.zeros(2, 0, dtype=torch.long)
    distance, index = cKDTree(points).query(points, k=neighbours + 1, distance_upper_bound=radius)
    source = np.repeat(np.arange(len(points)), neighbours + 1)
    target, found = index.reshape(-1), np.isfinite(distance.reshape(-1))
    keep = found & (source != np.where(found, target, -1))
    return torch.from_numpy(np.stack([source[keep], target[keep]]).astype(np.int64))


def pair_truth(particle_id: Tensor, pairs: Tensor) -> Tensor:
    """``[P]`` bool: both hits of the pair belong to one particle (noise, id 0, to none)."""
    first, second = particle_id[pairs[0]], particle_id[pairs[1]]
    return (first == second) & (first != 0)


def hinge_loss(embedding: Tensor, pairs: Tensor, truth: Tensor, margin: float) -> Tensor:
    """``[P]`` per pair: ``d²`` for a true pair, ``max(0, margin − d)²`` for a false one."""
    distance = pair_distance(embedding, pairs)
    return torch.where(truth, distance.square(), functional.relu(margin - distance).square())


def pair_distance(embedding: Tensor, pairs: Tensor) -> Tensor:
    """``[P]`` Euclidean distance of the pairs' embeddings (1e-12 under the root: finite gradients)."""
    return ((embedding[pairs[0]] - embedding[pairs[1]]).square().sum(1) + 1e-12).sqrt()


def balanced_mean(loss: Tensor, truth: Tensor) -> Tensor:
    """The mean of the true targets' and the false targets' mean losses (either alone where the other
    class is absent; a zero connected to ``loss`` where there are none)."""
    means = [loss[part].mean() for part in (truth, ~truth) if part.any()]
    return torch.stack(means).mean() if means else loss.sum()


def balancing_weights(truth: Tensor) -> Tensor:
    """``[P]`` weights that give the true and the false targets half the total each."""
    weight = torch.zeros(len(truth))
    for part in (truth, ~truth):
        if part.any():
            weight[part] = 0.5 / part.sum()
    return weight


def wheel_weight(epoch: int, wheel_epochs: int) -> float:
    """The training wheel's weight at ``epoch`` (from 1): ``1 − sin(π/2 · (epoch − 1) / wheel_epochs)``
    until ``wheel_epochs`` epochs have passed, then 0."""
    if epoch - 1 >= wheel_epochs:
        return 0.0
    return 1.0 - math.sin(math.pi / 2 * (epoch - 1) / wheel_epochs)


def match_supernodes(
    particle_id: Tensor, assignment_index: Tensor, label: Tensor, num_supernodes: int
) -> Tensor:
    """``[K]`` int64 the particle matched to each supernode, 0 for none (the rule in the module docstring).

    Args:
        particle_id: ``[H]`` truth, 0 for noise.
        assignment_index: ``[2, A]`` (hit, supernode) edges.
        label: ``[H]`` the supernode whose component holds each hit, −1 for none.
        num_supernodes: ``K``.
    """
    matched = torch.zeros(num_supernodes, dtype=torch.long)
    particle = particle_id.cpu().numpy()
    hit, supernode = assignment_index.cpu().numpy()
    member = label.cpu().numpy()
    inside = (member >= 0) & (particle != 0)
    assigned = particle[hit] != 0
    ids, row = np.unique(np.concatenate([particle[inside], particle[hit][assigned]]), return_inverse=True)
    if len(ids) == 0 or num_supernodes == 0:
        return matched
    # lexicographic: hits inside the component first, then hits assigned to the supernode
    total = np.zeros((len(ids), num_supernodes))
    count_inside = int(inside.sum())
    np.add.at(total, (row[:count_inside], member[inside]), len(particle) + 1)
    np.add.at(total, (row[count_inside:], supernode[assigned]), 1)
    particles, supernodes = linear_sum_assignment(total, maximize=True)
    kept = total[particles, supernodes] > 0
    matched[torch.from_numpy(supernodes[kept])] = torch.from_numpy(ids[particles[kept]])
    return matched


def assignment_truth(particle_id: Tensor, assignment_index: Tensor, matched: Tensor) -> Tensor:
    """``[A]`` bool: the hit's particle is the one matched to the supernode."""
    hit, supernode = assignment_index
    owner = matched.to(particle_id.device)[supernode]
    return (owner != 0) & (owner == particle_id[hit])


class PairObjective(Objective):
    """What both objectives share: the hinge settings, the training wheel and the seeded pairs.

    Args:
        margin: The hinge's margin on the distance of unit embeddings (the authors': 1).
        random_pairs_per_hit: Random pairs per hit besides the graph's edges.
        wheel_epochs: Epochs over which the training wheel fades out (0: none).
        seed: With the epoch and the event id, seeds the random pairs.
        wheel_floor: The bipartite objective's training wheel never falls below this weight.
        neighbour_pairs_per_hit: The embedding objective's hard negatives: nearest hits per hit in the
            output embedding, within the margin (0: none).
    """

    def __init__(
        self,
        margin: float,
        random_pairs_per_hit: float,
        wheel_epochs: int,
        seed: int,
        wheel_floor: float = 0.0,
        neighbour_pairs_per_hit: int = 0,
    ) -> None:
        super().__init__()
        self.wheel_floor, self.neighbour_pairs_per_hit = wheel_floor, neighbour_pairs_per_hit
        self.margin, self.random_pairs_per_hit = margin, random_pairs_per_hit
        self.wheel_epochs, self.seed = wheel_epochs, seed

    def pairs(self, batch: Batch, epoch: int) -> tuple[Tensor, Tensor]:
        """``([2, P], [P])`` the training pairs of ``batch`` at ``epoch`` and their truth."""
        rng = np.random.default_rng([self.seed, epoch, int(batch.event_id.reshape(-1)[0])])
        pairs = training_pairs(batch, self.random_pairs_per_hit, rng)
        return pairs, pair_truth(batch.particle_id, pairs)

    def with_neighbours(
        self, batch: Batch, pairs: Tensor, truth: Tensor, embedding: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``pairs`` and ``truth`` followed by each hit's nearest neighbours in ``embedding`` within the
        margin (the hard negatives) and theirs."""
        if self.neighbour_pairs_per_hit <= 0:
            return pairs, truth
        neighbours = neighbour_pairs(embedding, self.neighbour_pairs_per_hit, self.margin).to(pairs.device)
        return torch.cat([pairs, neighbours], 1), torch.cat(
            [truth, pair_truth(batch.particle_id, neighbours)]
        )

    def wheel_weight(self, epoch: int) -> float:
        """The bipartite training wheel's weight at ``epoch``: the schedule, held at ``wheel_floor``."""
        return max(wheel_weight(epoch, self.wheel_epochs), self.wheel_floor)

    def wheel(self, intermediate: Tensor, pairs: Tensor, truth: Tensor) -> Tensor:
        """The training wheel's loss (before its weight): the balanced hinge loss of ``intermediate``."""
        return balanced_mean(hinge_loss(intermediate, pairs, truth, self.margin), truth)


class EmbeddingObjective(PairObjective):
    """Hinge loss on pairs for ``embedding_in`` and ``hgnn_embedding`` (plus the training wheel there).

    Validation batches carry fixed pairs (``pair_index``) and their truth as ``y``; the deterministic
    "logits" are the pairs' distances, ``[P, 1]``, and :meth:`loss` their hinge loss.
    """

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> Tensor:
        base = self.pairs(batch, epoch)
        if not isinstance(model, HierarchicalGNN):
            embedding = model(batch)
            pairs, truth = self.with_neighbours(batch, *base, embedding)
            return balanced_mean(hinge_loss(embedding, pairs, truth, self.margin), truth).reshape(1)
        output = model.outputs(batch)
        pairs, truth = self.with_neighbours(batch, *base, output.embedding)
        loss = balanced_mean(hinge_loss(output.embedding, pairs, truth, self.margin), truth)
        weight = wheel_weight(epoch, self.wheel_epochs)
        if weight > 0:
            loss = loss + weight * self.wheel(output.intermediate, *base)
        return loss.reshape(1)

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        distance = logits.reshape(-1)
        return torch.where(target > 0.5, distance.square(), functional.relu(self.margin - distance).square())

    def logits(self, model: GraphModel, batch: Batch) -> Tensor:
        return pair_distance(model(batch), batch.pair_index)[:, None]


class BipartiteObjective(PairObjective):
    """``w · wheel + (1 − w) · assignment`` for ``hgnn_bipartite`` (module docstring).

    Validation asks what track building needs: whether two hits end up in a common candidate. A pair's
    probability is ``max_α σ(a_iα) σ(a_jα)`` over the supernodes both hits are assigned to (0 without
    one); the deterministic "logits" are its logit, ``[P, 1]``, and :meth:`loss` their binary cross entropy
    against the pair truth.
    """

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> Tensor:
        output = model.outputs(batch)
        hierarchy, logits = output.hierarchy, output.assignment_logits
        matched = match_supernodes(
            batch.particle_id, hierarchy.assignment_index, hierarchy.label, hierarchy.num_supernodes
        )
        truth = assignment_truth(batch.particle_id, hierarchy.assignment_index, matched)
        per_edge = functional.binary_cross_entropy_with_logits(
            logits, truth.to(logits.dtype), reduction="none"
        )
        loss = balanced_mean(per_edge, truth)
        weight = self.wheel_weight(epoch)
        if weight > 0:
            wheel = self.wheel(output.intermediate, *self.pairs(batch, epoch))
            loss = weight * wheel + (1 - weight) * loss
        return loss.reshape(1)

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        return functional.binary_cross_entropy_with_logits(
            logits.reshape(-1), target.to(logits.dtype).reshape(-1), reduction="none"
        )

    def logits(self, model: GraphModel, batch: Batch) -> Tensor:
        output = model.outputs(batch)
        return same_candidate_logits(
            batch.x.shape[0], output.hierarchy.assignment_index, output.assignment_logits, batch.pair_index
        )[:, None]


def same_candidate_logits(num_hits: int, assignment_index: Tensor, logits: Tensor, pairs: Tensor) -> Tensor:
    """``[P]`` logit of ``max_α σ(a_iα) σ(a_jα)`` over the supernodes both hits of each pair are assigned to.

    Every hit has the same number ``c'`` of assignment edges, hit-major (GMPool's assignment graph).
    """
    if logits.numel() == 0:
        return torch.full((pairs.shape[1],), -LOGIT_BOUND)
    supernode = assignment_index[1].reshape(num_hits, -1)
    probability = torch.sigmoid(logits).reshape(num_hits, -1)
    common = supernode[pairs[0]][:, :, None] == supernode[pairs[1]][:, None, :]
    joint = probability[pairs[0]][:, :, None] * probability[pairs[1]][:, None, :]
    best = torch.where(common, joint, torch.zeros_like(joint)).flatten(1).max(1).values
    return torch.logit(best).clamp(-LOGIT_BOUND, LOGIT_BOUND)
