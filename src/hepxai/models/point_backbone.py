"""What the LRI paper's point-cloud backbones share around their message-passing layers.

Input BatchNorm on the point features (the reference point of ``input="standardized"`` explanations), a
linear encoder to the hidden width (the LRI code's feature encoder; the DGCNN has none, its first layer reads
the features), ``num_layers`` layers on the graph of :func:`hepxai.models.point_graph.point_graph`, sum (or
mean) pooling weighted by ``batch.node_weight``, and the head MLP 64 → 128 → 64 → 1 (:func:`head_mlp`).
A kind says what one layer is (:meth:`PointBackbone.make_layer`); DGCNN, Point Transformer and EGNN are
the three kinds. The building blocks the layers share (:func:`block`, :func:`edge_linear_per_point`) live
here too.

Miao et al., "Interpretable geometric deep learning via learnable randomness injection" (2023), appendix D.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.models.dropout import Dropout
from hepxai.models.graph_ops import pool
from hepxai.models.point_graph import DEFAULT_K, point_graph
from hepxai.models.registry import GraphModel

Pooling = Literal["sum", "mean"]


def block(in_features: int, out_features: int, dropout: float) -> list[nn.Module]:
    """``Linear → BatchNorm1d → ReLU → Dropout``."""
    return [
        nn.Linear(in_features, out_features),
        nn.BatchNorm1d(out_features),
        nn.ReLU(),
        Dropout(dropout),
    ]


def head_mlp(in_features: int, widths: Sequence[int], out_features: int, dropout: float) -> nn.Sequential:
    """The prediction head: a :func:`block` per hidden width, then a ``Linear`` to the logits.

    The LRI paper's head is 64 → 128 → 64 → 1 (``widths = (128, 64)``).
    """
    sizes = [in_features, *widths]
    blocks = [module for first, second in pairwise(sizes) for module in block(first, second, dropout)]
    return nn.Sequential(*blocks, nn.Linear(sizes[-1], out_features))


def edge_linear_per_point(
    linear: nn.Linear, x: Tensor, source: Tensor, target: Tensor, edge_attr: Tensor | None, *, relative: bool
) -> Tensor:
    """``linear`` on every edge's ``[x_i, x_j, e_ij]`` (``[x_i, x_j − x_i, e_ij]`` if ``relative``), ``i`` the
    target, computed as ``W_i x_i + W_j x_j + W_e e_ij + b`` (``(W_i − W_j) x_i + W_j x_j + …``).

    Two products per point gathered to the edges instead of one product per edge as wide as both
    endpoints: the same function up to rounding, in about half the time of that layer in a training step
    with ~10 edges per point. Used by the layers' ``fused`` form; explainers run the plain form.
    """
    width = x.shape[1]
    w_target, w_source = linear.weight[:, :width], linear.weight[:, width : 2 * width]
    if relative:
        w_target = w_target - w_source
    out = (x @ w_target.T).index_select(0, target) + (x @ w_source.T).index_select(0, source)
    if edge_attr is not None:
        out = out + edge_attr @ linear.weight[:, 2 * width :].T
    return out if linear.bias is None else out + linear.bias


class PointBackbone(GraphModel):
    """Encoder, layers, pooling and head; a subclass defines the layer.

    Args:
        num_features: Features per point (``batch.x``).
        hidden: Width of the embeddings and messages (64 in the LRI paper).
        num_layers: Message-passing layers (4 in the LRI paper), each added to its input (residual) where
            its input has the hidden width.
        edge_features: Width of ``edge_attr`` (4: ``(‖Δr‖, Δr/‖Δr‖)`` in 3D); 0 (no edge features) only
            for kinds whose layers do without (:attr:`min_edge_features`).
        pooling: ``"sum"`` (the LRI paper) or ``"mean"`` over the points of a graph.
        dropout: Dropout after every ReLU (0.2 in the LRI paper).
        classes: Names of the output columns; one logit (binary cross-entropy) by default.
        head: Hidden widths of the head, ``(128, 64)`` as the LRI paper.
        k: Neighbours per point when the graph is built from ``batch.pos`` (self loop on top).
        unit_directions: Build that graph from ``pos / ‖pos‖`` (the LRI code's treatment of ActsTrack hits,
            :func:`hepxai.data.graphs.unit_direction`).
    """

    input_norm_name = "input_norm"
    linear_encoder: ClassVar[bool] = True
    """Whether a ``Linear`` takes the features to the hidden width before the first layer; without it the
    first layer (``make_layer(0)``) reads the standardised features themselves."""
    min_edge_features: ClassVar[int] = 1
    """The fewest edge features the layers work with."""
    fused_layers: ClassVar[bool] = False
    """Whether the layers take ``fused=True``, a faster form of the same function for :meth:`fast_forward`."""

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
        if min(sizes) < 1 or edge_features < self.min_edge_features or not classes:
            msg = (
                f"{name}: needs num_features, hidden, num_layers, k, head widths >= 1, edge_features >= "
                f"{self.min_edge_features} and a class (got {num_features}, {hidden}, {num_layers}, {k}, "
                f"{tuple(head)}, {edge_features}, {tuple(classes)})"
            )
            raise ValueError(msg)
        self.num_features, self.hidden, self.num_layers = num_features, hidden, num_layers
        self.edge_features, self.pooling, self.dropout, self.k = edge_features, pooling, dropout, k
        self.unit_directions = unit_directions
        self.classes, self.head_widths = tuple(classes), tuple(int(width) for width in head)
        self.default_target = self.classes[-1]
        self.embedding_name = f"layers.{num_layers - 1}"
        self.input_norm = nn.BatchNorm1d(num_features)
        self.encoder = nn.Linear(num_features, hidden) if self.linear_encoder else None
        self.layers = nn.ModuleList(self.make_layer(index) for index in range(num_layers))
        self.head = head_mlp(hidden, self.head_widths, len(self.classes), dropout)

    def make_layer(self, index: int) -> nn.Module:
        """Layer ``index``: ``layer(h, edge_index, edge_attr, edge_weight) -> h'``, ``[num_points, hidden]``.

        Its input ``h`` has the hidden width, except for layer 0 of a kind without :attr:`linear_encoder`,
        which reads the ``num_features`` standardised features.
        """
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
        embedding = self.input_norm(x)
        if self.encoder is not None:
            embedding = self.encoder(embedding)
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
