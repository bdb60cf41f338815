"""What the LRI paper's point-cloud backbones share around their message-passing layers.

Input BatchNorm on the point features (the reference point of ``input="standardized"`` explanations, as in
the DGCNN), a linear encoder to the hidden width (the LRI code's feature encoder), ``num_layers`` residual
layers on the graph of :func:`hepxai.models.point_graph.point_graph`, sum (or mean) pooling weighted by
``batch.node_weight``, and the head MLP 64 → 128 → 64 → 1 (:func:`hepxai.models.dgcnn.head_mlp`).
A subclass says what one layer is (:meth:`PointBackbone.make_layer`).

Miao et al., "Interpretable geometric deep learning via learnable randomness injection" (2023), appendix D.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.models.dgcnn import head_mlp
from hepxai.models.graph_ops import pool
from hepxai.models.point_graph import DEFAULT_K, point_graph
from hepxai.models.registry import GraphModel

Pooling = Literal["sum", "mean"]


class PointBackbone(GraphModel):
    """Encoder, residual layers, pooling and head; a subclass defines the layer.

    Args:
        num_features: Features per point (``batch.x``).
        hidden: Width of the embeddings and messages (64 in the LRI paper).
        num_layers: Message-passing layers (4 in the LRI paper), each added to its input (residual).
        edge_features: Width of ``edge_attr`` (4: ``(‖Δr‖, Δr/‖Δr‖)`` in 3D).
        pooling: ``"sum"`` (the LRI paper) or ``"mean"`` over the points of a graph.
        dropout: Dropout after every ReLU (0.2 in the LRI paper).
        classes: Names of the output columns; one logit (binary cross-entropy) by default.
        head: Hidden widths of the head, ``(128, 64)`` as the LRI paper.
        k: Neighbours per point when the graph is built from ``batch.pos`` (self loop on top).
        unit_directions: Build that graph from ``pos / ‖pos‖`` (the LRI code's treatment of ActsTrack hits,
            :func:`hepxai.data.graphs.unit_direction`).
    """

    input_norm_name = "input_norm"

    def __init__(
        self,
        num_features: int = 1,
        hidden: int = 64,
        num_layers: int = 4,
        edge_features: int = 4,
        pooling: Pooling = "sum",
        dropout: float = 0.2,
        classes: Sequence[str] = ("signal",),
        head: Sequence[int] = (128, 64),
        k: int = DEFAULT_K,
        unit_directions: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if pooling not in ("sum", "mean"):
            msg = f"{name}: pooling must be one of sum, mean (got {pooling!r})"
            raise ValueError(msg)
        sizes = (num_features, hidden, num_layers, k, *head)
        if min(sizes) < 1 or edge_features < 1 or not classes:
            msg = (
                f"{name}: needs num_features, hidden, num_layers, k, head widths, edge_features >= 1 and a "
                f"class (got {num_features}, {hidden}, {num_layers}, {k}, {tuple(head)}, {edge_features}, "
                f"{tuple(classes)})"
            )
            raise ValueError(msg)
        self.num_features, self.hidden, self.num_layers = num_features, hidden, num_layers
        self.edge_features, self.pooling, self.dropout, self.k = edge_features, pooling, dropout, k
        self.unit_directions = unit_directions
        self.classes, self.head_widths = tuple(classes), tuple(int(width) for width in head)
        self.default_target = self.classes[-1]
        self.embedding_name = f"layers.{num_layers - 1}"
        self.input_norm = nn.BatchNorm1d(num_features)
        self.encoder = nn.Linear(num_features, hidden)
        self.layers = nn.ModuleList(self.make_layer() for _ in range(num_layers))
        self.head = head_mlp(hidden, self.head_widths, len(self.classes), dropout)

    fused_layers = False
    """Whether the layers take ``fused=True``, a faster form of the same function for :meth:`fast_forward`."""

    def make_layer(self) -> nn.Module:
        """One layer: ``layer(h, edge_index, edge_attr, edge_weight) -> h'``, ``[num_points, hidden]``."""
        raise NotImplementedError

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "num_features": self.num_features,
            "hidden": self.hidden,
            "num_layers": self.num_layers,
            "edge_features": self.edge_features,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "classes": list(self.classes),
            "head": list(self.head_widths),
            "k": self.k,
            "unit_directions": self.unit_directions,
        }

    def forward(self, batch: Batch) -> Tensor:
        """``[num_graphs, len(classes)]`` logits of a ``Batch`` with ``x`` and ``pos`` (or a graph)."""
        return self._logits(batch, fused=False)

    def fast_forward(self, batch: Batch) -> Tensor:
        """:meth:`forward` with the layers' fused form where they have one (:attr:`fused_layers`)."""
        return self._logits(batch, fused=self.fused_layers)

    def _logits(self, batch: Batch, *, fused: bool) -> Tensor:
        x = batch.x
        if x.dim() != 2 or x.shape[1] != self.num_features:
            msg = (
                f"{type(self).__name__} expects {self.num_features} features per point, the data has shape "
                f"{tuple(x.shape)}"
            )
            raise ValueError(msg)
        edges = point_graph(
            batch,
            k=self.k,
            width=self.edge_features,
            owner=type(self).__name__,
            unit_directions=self.unit_directions,
        )
        graph = getattr(batch, "batch", None)
        if graph is None:
            graph = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        embedding = self.encoder(self.input_norm(x))
        for layer in self.layers:
            inputs = (embedding, edges.edge_index, edges.edge_attr, edges.edge_weight)
            embedding = layer(*inputs, fused=True) if fused else layer(*inputs)
        pooled = pool(
            embedding,
            graph,
            int(getattr(batch, "num_graphs", 1)),
            reduce=self.pooling,
            weight=getattr(batch, "node_weight", None),
        )
        return self.head(pooled)
