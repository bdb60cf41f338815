"""The hierarchical GNN (HGNN): hits pooled into learnt supernodes, messages passed across both levels.

Tracks survive a graph with missing edges when hits can reach each other through a coarser graph. The
model (the HGNN slides and their backup):

1. **Flat stage.** The Embedding IN's network (:class:`~hepxai.models.embedding_in.HitGraphNetwork`) runs
   ``iterations`` steps on the hit graph; an MLP maps each hit to the unit sphere: the intermediate
   embedding ``n_i``.
2. **Pooling.** :class:`~hepxai.models.gmpool.GMPool` turns the intermediate embeddings into supernodes,
   the assignment graph (hit → its ``c`` nearest supernodes, weights summing to 1 per hit) and the super
   graph (supernode kNN, symmetrised, sigmoid weights).
3. **Hierarchical message passing**, ``hierarchical_iterations`` times, each update residual:
   supernodes from ``[X_α, Σ_i w_iα n_i, Σ_β w_αβ E_αβ]``; superedges from ``[E_αβ, X_α, X_β]``; hits
   from ``[n_i, Σ_α w_iα X_α, Σ_j e_ij]``; edges from ``[e_ij, n_i, n_j]``. Supernodes start from an MLP of
   their unit embedding, superedges from an MLP of their two ends.
4. **Heads.** :class:`HGNNEmbedding`: an MLP of every hit to the unit sphere (hinge loss, HDBSCAN).
   :class:`HGNNBipartite`: an MLP of ``[n_i, X_α]`` gives a logit per assignment edge (a hit belongs to
   the supernode's track); candidates are the edges above a score cut, so a hit may join several tracks.

The cut and the components carry no gradient; the supernode embeddings (means of ``n_i``) and the
assignment and superedge weights do, so the intermediate embedding learns from the heads' losses, unless
``detach_pooling``: then the pooling sees a detached ``n_i`` and only the training wheel's hinge loss
shapes it (the bipartite model's setting: its assignment loss otherwise merges the supernodes, see
docs/tracking.md). The bipartite head also sees, per assignment edge, ``n_i · X_α`` and whether the hit
lies in the supernode's component: the pooling's own evidence.
Defaults are the authors' (``ryanliu30/HierarchicalGNN``, ``HGNN_GMM.yaml``) except the width (see
docs/tracking.md: measured on 2 CPU cores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional
from torch_geometric.data import Batch

from hepxai.models.embedding_in import HitGraphNetwork, check_hit_graph, check_sizes, edge_sums, mlp
from hepxai.models.gmpool import GMPool, Hierarchy
from hepxai.models.graph_ops import aggregate, gather
from hepxai.models.registry import GraphModel, register_model


@dataclass(frozen=True)
class HierarchicalOutput:
    """Everything one forward pass computes that a loss or a track builder needs."""

    intermediate: Tensor  # [H, D] unit hit embeddings the pooling used
    hierarchy: Hierarchy
    node: Tensor  # [H, latent] hit embeddings after the hierarchical steps
    supernode: Tensor  # [K, latent] supernode embeddings after the hierarchical steps
    embedding: Tensor | None = None  # [H, D] unit output embeddings (HGNNEmbedding)
    assignment_logits: Tensor | None = None  # [A] one per hierarchy.assignment_index column (HGNNBipartite)


class HierarchicalGNN(GraphModel):
    """The shared body of both heads; :meth:`outputs` runs it, subclasses add their head.

    Args:
        num_features: Features per hit (``batch.x``).
        edge_features: Width of ``batch.edge_attr``, or 0 to ignore it.
        latent: Width of every hit, edge, supernode and superedge embedding and hidden layer.
        embedding_dim: Dimension of the intermediate (and output) embedding space.
        iterations: Message-passing steps of the flat stage.
        hierarchical_iterations: Steps of hierarchical message passing.
        log_odds: GMPool's ``r``, the clustering granularity.
        min_size: GMPool's ``N_min``; supernodes have more hits.
        assignments: GMPool's ``c``, supernodes per hit.
        super_neighbours: Nearest supernodes each supernode joins in the super graph.
        cut_momentum: GMPool's running-cut momentum over training events (0: each event's own cut).
        detach_pooling: Pool a detached intermediate embedding (the heads' losses do not reach it).
    """

    def __init__(
        self,
        num_features: int = 3,
        edge_features: int = 5,
        latent: int = 32,
        embedding_dim: int = 8,
        iterations: int = 6,
        hierarchical_iterations: int = 8,
        log_odds: float = 3.0,
        min_size: int = 3,
        assignments: int = 8,
        super_neighbours: int = 10,
        cut_momentum: float = 0.0,
        detach_pooling: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_sizes(
            name, num_features, edge_features, latent, embedding_dim, iterations, hierarchical_iterations
        )
        self.num_features, self.edge_features, self.latent = num_features, edge_features, latent
        self.embedding_dim, self.iterations = embedding_dim, iterations
        self.hierarchical_iterations = hierarchical_iterations
        self.network = HitGraphNetwork(num_features, edge_features, latent, iterations)
        self.intermediate_output = mlp(latent, latent, embedding_dim)
        self.pool = GMPool(log_odds, min_size, assignments, super_neighbours, cut_momentum)
        self.detach_pooling = detach_pooling
        self.supernode_encoder = mlp(embedding_dim, latent, latent)
        self.superedge_encoder = mlp(2 * latent, latent, latent)
        steps = range(hierarchical_iterations)
        self.supernode_networks = nn.ModuleList(mlp(3 * latent, latent, latent) for _ in steps)
        self.superedge_networks = nn.ModuleList(mlp(3 * latent, latent, latent) for _ in steps)
        self.node_networks = nn.ModuleList(mlp(3 * latent, latent, latent) for _ in steps)
        self.edge_networks = nn.ModuleList(mlp(3 * latent, latent, latent) for _ in steps)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "num_features": self.num_features,
            "edge_features": self.edge_features,
            "latent": self.latent,
            "embedding_dim": self.embedding_dim,
            "iterations": self.iterations,
            "hierarchical_iterations": self.hierarchical_iterations,
            "log_odds": self.pool.log_odds,
            "min_size": self.pool.min_size,
            "assignments": self.pool.assignments,
            "super_neighbours": self.pool.super_neighbours,
            "cut_momentum": self.pool.cut_momentum,
            "detach_pooling": self.detach_pooling,
        }

    def outputs(self, batch: Batch) -> HierarchicalOutput:
        """Flat stage, pooling and hierarchical message passing of one event's hit graph (no head)."""
        check_hit_graph(batch, self.num_features, self.edge_features, type(self).__name__)
        edge_index = batch.edge_index
        source, target = edge_index
        node, edge = self.network(batch)
        num_hits = node.shape[0]
        intermediate = functional.normalize(self.intermediate_output(node), dim=1)
        hierarchy = self.pool(intermediate.detach() if self.detach_pooling else intermediate, edge_index)
        hit, assigned = hierarchy.assignment_index
        super_source, super_target = hierarchy.super_index
        weight, super_weight, count = (
            hierarchy.assignment_weight,
            hierarchy.super_weight,
            hierarchy.num_supernodes,
        )
        supernode = self.supernode_encoder(hierarchy.supernode)
        superedge = self.superedge_encoder(
            torch.cat([gather(supernode, super_source), gather(supernode, super_target)], dim=1)
        )
        networks = zip(
            self.supernode_networks,
            self.superedge_networks,
            self.node_networks,
            self.edge_networks,
            strict=True,
        )
        for supernode_network, superedge_network, node_network, edge_network in networks:
            from_hits = aggregate(gather(node, hit), assigned, count, reduce="sum", weight=weight)
            from_superedges = aggregate(superedge, super_source, count, reduce="sum", weight=super_weight)
            supernode = supernode + supernode_network(
                torch.cat([supernode, from_hits, from_superedges], dim=1)
            )
            ends = [gather(supernode, super_source), gather(supernode, super_target)]
            superedge = superedge + superedge_network(torch.cat([superedge, *ends], dim=1))
            from_supernodes = aggregate(
                gather(supernode, assigned), hit, num_hits, reduce="sum", weight=weight
            )
            node = node + node_network(
                torch.cat([node, from_supernodes, edge_sums(edge, edge_index, num_hits)], 1)
            )
            edge = edge + edge_network(torch.cat([edge, gather(node, source), gather(node, target)], dim=1))
        return HierarchicalOutput(intermediate, hierarchy, node, supernode)


@register_model
class HGNNEmbedding(HierarchicalGNN):
    """HGNN with an embedding head: ``[H, embedding_dim]`` unit hit embeddings (hinge loss, HDBSCAN)."""

    kind = "hgnn_embedding"
    level = "node"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.classes = tuple(f"embedding_{k}" for k in range(self.embedding_dim))
        self.default_target = self.classes[0]
        self.output = mlp(self.latent, self.latent, self.embedding_dim)

    def outputs(self, batch: Batch) -> HierarchicalOutput:
        body = super().outputs(batch)
        embedding = functional.normalize(self.output(body.node), dim=1)
        return HierarchicalOutput(
            body.intermediate, body.hierarchy, body.node, body.supernode, embedding=embedding
        )

    def forward(self, batch: Batch) -> Tensor:
        """``[H, embedding_dim]`` unit output embeddings."""
        return self.outputs(batch).embedding


@register_model
class HGNNBipartite(HierarchicalGNN):
    """HGNN with a bipartite classifier: ``[A, 1]`` logits, one per hit–supernode assignment edge
    (``outputs(batch).hierarchy.assignment_index``), that the hit belongs to the supernode's track."""

    kind = "hgnn_bipartite"
    level = "edge"
    classes = ("assigned",)
    default_target = "assigned"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.output = mlp(2 * self.latent + 2, self.latent, 1)

    def outputs(self, batch: Batch) -> HierarchicalOutput:
        body = super().outputs(batch)
        hit, assigned = body.hierarchy.assignment_index
        hierarchy = body.hierarchy
        pooled = torch.stack(
            [hierarchy.assignment_similarity, (hierarchy.label[hit] == assigned).to(body.node.dtype)], dim=1
        )
        pair = torch.cat([gather(body.node, hit), gather(body.supernode, assigned), pooled], dim=1)
        logits = self.output(pair).reshape(-1)
        return HierarchicalOutput(
            body.intermediate, body.hierarchy, body.node, body.supernode, assignment_logits=logits
        )

    def forward(self, batch: Batch) -> Tensor:
        """``[A, 1]`` assignment logits."""
        return self.outputs(batch).assignment_logits[:, None]
