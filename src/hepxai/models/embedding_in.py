"""Embedding IN: an Interaction Network over the hit graph that maps every hit onto the unit sphere.

Hits of one particle are to end close together (a hinge embedding loss on pairs trains it,
:mod:`hepxai.tracking.hgnn_training`); track candidates are clusters of the embedding (HDBSCAN,
:mod:`hepxai.tracking.clustering`). It is the flat stage the hierarchical GNN (:mod:`hepxai.models.hgnn`)
starts from, and the slides' "Embedding IN" baseline.

The blocks follow the authors' public configuration (``ryanliu30/HierarchicalGNN``): MLPs of
``Linear → LayerNorm → GELU`` with a final ``Linear``, residual node and edge updates, an output MLP to
an ``embedding_dim``-dimensional vector normalised to unit length. LayerNorm rather than BatchNorm keeps
training and evaluation mode the same function. Each message-passing step updates every edge from its two
hits, then every hit from the sum of its edges (both directions: the graph is undirected here).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional
from torch_geometric.data import Batch

from hepxai.models.graph_ops import aggregate, gather
from hepxai.models.registry import GraphModel, register_model


def mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    """``Linear → LayerNorm → GELU → Linear``."""
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, out_features)
    )


def check_hit_graph(batch: Batch, num_features: int, edge_features: int, name: str) -> None:
    """Refuse a hit graph whose ``x`` or ``edge_attr`` does not have the model's widths.

    Raises:
        ValueError: wrong feature counts.
    """
    if batch.x.dim() != 2 or batch.x.shape[1] != num_features:
        msg = f"{name} expects {num_features} features per hit, the data has {tuple(batch.x.shape)}"
        raise ValueError(msg)
    if edge_features:
        edge_attr = getattr(batch, "edge_attr", None)
        expected = (batch.edge_index.shape[1], edge_features)
        if edge_attr is None or tuple(edge_attr.shape) != expected:
            got = None if edge_attr is None else tuple(edge_attr.shape)
            msg = f"{name} expects edge_attr of shape {expected}, the data has {got}"
            raise ValueError(msg)


def edge_sums(edge: Tensor, edge_index: Tensor, num_hits: int) -> Tensor:
    """``[H, C]`` the sum of every hit's edges, in either direction."""
    source, target = edge_index
    return aggregate(edge, source, num_hits, reduce="sum") + aggregate(edge, target, num_hits, reduce="sum")


class HitGraphNetwork(nn.Module):
    """Encoders of hits and edges and ``iterations`` residual message-passing steps on the hit graph.

    ``forward`` gives the ``[H, latent]`` hit and ``[E, latent]`` edge embeddings; :meth:`step` is one
    step, which the hierarchical GNN reuses with the supernodes' input added to every hit.
    """

    def __init__(self, num_features: int, edge_features: int, latent: int, iterations: int) -> None:
        super().__init__()
        self.edge_features = edge_features
        self.node_encoder = mlp(num_features, latent, latent)
        self.edge_encoder = mlp(2 * num_features + edge_features, latent, latent)
        self.edge_networks = nn.ModuleList(mlp(3 * latent, latent, latent) for _ in range(iterations))
        self.node_networks = nn.ModuleList(mlp(2 * latent, latent, latent) for _ in range(iterations))

    def encode(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """``([H, latent], [E, latent])`` the encoded hits and edges."""
        x, (source, target) = batch.x, batch.edge_index
        parts = [gather(x, source), gather(x, target)]
        if self.edge_features:
            parts.append(batch.edge_attr.to(x.dtype))
        return self.node_encoder(x), self.edge_encoder(torch.cat(parts, dim=1))

    def forward(self, batch: Batch) -> tuple[Tensor, Tensor]:
        node, edge = self.encode(batch)
        for edge_network, node_network in zip(self.edge_networks, self.node_networks, strict=True):
            node, edge = self.step(node, edge, batch.edge_index, edge_network, node_network)
        return node, edge

    @staticmethod
    def step(
        node: Tensor, edge: Tensor, edge_index: Tensor, edge_network: nn.Module, node_network: nn.Module
    ) -> tuple[Tensor, Tensor]:
        """Edges from ``[edge, hit_source, hit_target]``, then hits from ``[hit, sum of edges]``."""
        source, target = edge_index
        edge = edge + edge_network(torch.cat([edge, gather(node, source), gather(node, target)], dim=1))
        node = node + node_network(torch.cat([node, edge_sums(edge, edge_index, node.shape[0])], dim=1))
        return node, edge


@register_model
class EmbeddingIN(GraphModel):
    """Hit graph in, ``[H, embedding_dim]`` unit-length hit embeddings out.

    Args:
        num_features: Features per hit (``batch.x``; 3 for r, φ, z).
        edge_features: Width of ``batch.edge_attr`` (the pair geometry), or 0 to ignore it.
        latent: Width of every hit and edge embedding and hidden layer.
        embedding_dim: Dimension of the output space (the authors': 8).
        iterations: Message-passing steps (the authors': 6).
    """

    kind = "embedding_in"
    level = "node"

    def __init__(
        self,
        num_features: int = 3,
        edge_features: int = 5,
        latent: int = 32,
        embedding_dim: int = 8,
        iterations: int = 6,
    ) -> None:
        super().__init__()
        check_sizes(type(self).__name__, num_features, edge_features, latent, embedding_dim, iterations)
        self.num_features, self.edge_features = num_features, edge_features
        self.latent, self.embedding_dim, self.iterations = latent, embedding_dim, iterations
        self.classes = tuple(f"embedding_{k}" for k in range(embedding_dim))
        self.default_target = self.classes[0]
        self.network = HitGraphNetwork(num_features, edge_features, latent, iterations)
        self.output = mlp(latent, latent, embedding_dim)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "num_features": self.num_features,
            "edge_features": self.edge_features,
            "latent": self.latent,
            "embedding_dim": self.embedding_dim,
            "iterations": self.iterations,
        }

    def forward(self, batch: Batch) -> Tensor:
        """``[H, embedding_dim]`` unit vectors of a hit graph with ``x``, ``edge_index``, ``edge_attr``."""
        check_hit_graph(batch, self.num_features, self.edge_features, type(self).__name__)
        node, _ = self.network(batch)
        return functional.normalize(self.output(node), dim=1)


def check_sizes(name: str, num_features: int, edge_features: int, latent: int, *positive: int) -> None:
    """Refuse a model built with zero or negative widths or steps.

    Raises:
        ValueError: a size below 1 (``edge_features`` below 0).
    """
    if min(num_features, latent, *positive) < 1 or edge_features < 0:
        msg = (
            f"{name}: needs num_features, latent, embedding_dim and iterations >= 1 and edge_features >= 0 "
            f"(got {num_features}, {latent}, {', '.join(map(str, positive))}, {edge_features})"
        )
        raise ValueError(msg)
