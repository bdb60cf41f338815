"""A DGCNN-style EdgeConv network for point clouds: the LRI paper's DGCNN backbone, on a given graph.

Every layer sends a message ``MLP([x_i, x_j − x_i, e_ij])`` along each edge ``j → i`` of ``batch.edge_index``
and reduces the messages onto ``i`` (mean or max); layers after the first add their input back (residual).
The per-point embeddings are pooled per graph (sum, as the paper, or mean) and a head MLP gives the logits.
The graph is not rebuilt from hidden features (the LRI paper's "second class" of models): it is the one the
batch carries, or the ``k``-nearest-neighbour graph of ``batch.pos`` plus self loops with the geometric edge
features ``e_ij = (‖Δr‖, Δr/‖Δr‖)`` (:mod:`hepxai.models.point_graph`); explainers treat ``edge_attr`` as an
input.

Wang et al., "Dynamic graph CNN for learning on point clouds" (2019), https://arxiv.org/abs/1801.07829;
Miao et al., "Interpretable geometric deep learning via learnable randomness injection" (2023), appendix D.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.models.dropout import Dropout
from hepxai.models.graph_ops import aggregate, constant, gather, pool
from hepxai.models.point_graph import DEFAULT_K, point_graph
from hepxai.models.registry import GraphModel, register_model

Aggregation = Literal["mean", "max"]
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
    with ~10 edges per point. Used by the backbones' ``fast_forward``; explainers run the plain form.
    """
    width = x.shape[1]
    w_target, w_source = linear.weight[:, :width], linear.weight[:, width : 2 * width]
    if relative:
        w_target = w_target - w_source
    out = (x @ w_target.T).index_select(0, target) + (x @ w_source.T).index_select(0, source)
    if edge_attr is not None:
        out = out + edge_attr @ linear.weight[:, 2 * width :].T
    return out if linear.bias is None else out + linear.bias


class EdgeConv(nn.Module):
    """One EdgeConv layer over a fixed graph: ``out_i = reduce_j MLP([x_i, x_j − x_i, e_ij])`` (+ ``x_i``).

    The message MLP ends in a ReLU, so messages are ≥ 0. That makes an edge weight of 0 equal to a missing
    edge for both reductions: mean is weighted (``Σ w·m / Σ w``), and max takes ``w·m``, where a zeroed
    message can never beat a kept one and a point without messages gets 0, as an empty max does.

    Args:
        in_features: Width of ``x``.
        edge_features: Width of ``e`` (0: messages from node features only).
        out_features: Width of the messages and of the output.
        aggregation: ``"mean"`` or ``"max"`` over the incoming edges.
        dropout: Dropout after every ReLU (identity in eval mode).
        residual: Add the input to the output (needs ``in_features == out_features``).
    """

    def __init__(
        self,
        in_features: int,
        edge_features: int,
        out_features: int,
        *,
        aggregation: Aggregation,
        dropout: float,
        residual: bool,
    ) -> None:
        super().__init__()
        if residual and in_features != out_features:
            msg = (
                f"EdgeConv: a residual needs in_features == out_features (got {in_features}, {out_features})"
            )
            raise ValueError(msg)
        self.aggregation, self.residual = aggregation, residual
        self.mlp = nn.Sequential(
            *block(2 * in_features + edge_features, out_features, dropout),
            *block(out_features, out_features, dropout),
        )

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None,
        edge_weight: Tensor | None,
        *,
        fused: bool = False,
    ) -> Tensor:
        """``[num_points, out_features]`` from ``x`` ``[num_points, in_features]`` and ``edge_attr``;
        ``fused``: the first Linear per point (:func:`edge_linear_per_point`), the rest unchanged."""
        source, target = edge_index
        if fused:
            first = edge_linear_per_point(self.mlp[0], x, source, target, edge_attr, relative=True)
            message = self.mlp[1:](first)
        else:
            x_target = gather(x, target)
            parts = [x_target, gather(x, source) - x_target]
            if edge_attr is not None:
                parts.append(edge_attr)
            message = self.mlp(torch.cat(parts, dim=1))
        if self.aggregation == "max":
            if edge_weight is not None:
                message = message * constant(edge_weight).unsqueeze(1)
            reduced = aggregate(message, target, x.shape[0], reduce="max")
        else:
            reduced = aggregate(message, target, x.shape[0], reduce="mean", weight=edge_weight)
        return x + reduced if self.residual else reduced


@register_model
class DGCNN(GraphModel):
    """EdgeConv layers, per-graph pooling and a head: point clouds in, one logit per class per graph out.

    Input BatchNorm: point features come in any units (energies, charges, times), and standardising them
    keeps training stable and gives explainers the same reference point as the HIN (``input="standardized"``
    relevance is that of the standardised features). Positions enter only through the edge features, so
    the model is invariant to translations of a point cloud, and to the order of its points.

    Runs on the graph of :func:`hepxai.models.point_graph.point_graph`: the batch's own ``edge_index`` and
    ``edge_attr``, or the ``k``-nearest-neighbour graph of ``batch.pos`` with self loops. Honours
    ``batch.edge_weight`` (per edge; weighs the mean or multiplies the messages of a max) and
    ``batch.node_weight`` (per point; weighs the pooling); with 0/1 weights from a node mask
    (:func:`hepxai.explain.forward.masked_batch`) the logits equal those of the point clouds without the
    masked points.

    Args:
        num_features: Features per point (``batch.x``).
        hidden: Width of the messages, embeddings and the head (64 in the LRI paper).
        num_layers: EdgeConv layers (4 in the LRI paper); every one after the first is residual.
        edge_features: Width of ``batch.edge_attr`` (4: ``(‖Δr‖, Δr/‖Δr‖)`` in 3D), or 0 to ignore it.
        aggregation: ``"mean"`` (the LRI code) or ``"max"`` (the DGCNN paper) over incoming edges.
        pooling: ``"sum"`` (the LRI paper) or ``"mean"`` over the points of a graph.
        dropout: Dropout ratio after every ReLU (0.2 in the LRI paper).
        classes: Names of the output columns; one logit (``("signal",)``, trained with binary cross-entropy
            as in the LRI paper) by default. The last one is the default target.
        head: Hidden widths of the head after pooling: ``(128, 64)`` gives the LRI paper's 64 → 128 → 64 →
            1; ``(hidden,)`` the head of checkpoints written before this option existed.
        k: Neighbours per point when the graph is built from ``batch.pos`` (self loop on top).
        unit_directions: Build that graph from ``pos / ‖pos‖`` (the LRI code's treatment of ActsTrack hits,
            :func:`hepxai.data.graphs.unit_direction`).
    """

    kind = "dgcnn"
    input_norm_name = "input_norm"

    def __init__(
        self,
        num_features: int = 3,
        hidden: int = 64,
        num_layers: int = 4,
        edge_features: int = 4,
        aggregation: Aggregation = "mean",
        pooling: Pooling = "sum",
        dropout: float = 0.2,
        classes: Sequence[str] = ("signal",),
        head: Sequence[int] = (128, 64),
        k: int = DEFAULT_K,
        unit_directions: bool = False,
    ) -> None:
        super().__init__()
        for name, value, valid in (
            ("aggregation", aggregation, ("mean", "max")),
            ("pooling", pooling, ("sum", "mean")),
        ):
            if value not in valid:
                msg = f"DGCNN: {name} must be one of {', '.join(valid)} (got {value!r})"
                raise ValueError(msg)
        if (
            num_features < 1
            or hidden < 1
            or num_layers < 1
            or edge_features < 0
            or not classes
            or k < 1
            or any(width < 1 for width in head)
        ):
            msg = (
                f"DGCNN: needs num_features, hidden, num_layers, k and head widths >= 1, edge_features >= 0 "
                f"and a class (got {num_features}, {hidden}, {num_layers}, {k}, {tuple(head)}, "
                f"{edge_features}, {tuple(classes)})"
            )
            raise ValueError(msg)
        self.num_features, self.hidden, self.num_layers = num_features, hidden, num_layers
        self.edge_features, self.aggregation, self.pooling, self.dropout = (
            edge_features,
            aggregation,
            pooling,
            dropout,
        )
        self.classes, self.head_widths, self.k = tuple(classes), tuple(int(w) for w in head), k
        self.unit_directions = unit_directions
        self.default_target = self.classes[-1]
        self.embedding_name = f"convs.{num_layers - 1}"
        self.input_norm = nn.BatchNorm1d(num_features)
        self.convs = nn.ModuleList(
            EdgeConv(
                num_features if layer == 0 else hidden,
                edge_features,
                hidden,
                aggregation=aggregation,
                dropout=dropout,
                residual=layer > 0,
            )
            for layer in range(num_layers)
        )
        self.head = head_mlp(hidden, self.head_widths, len(self.classes), dropout)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "num_features": self.num_features,
            "hidden": self.hidden,
            "num_layers": self.num_layers,
            "edge_features": self.edge_features,
            "aggregation": self.aggregation,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "classes": list(self.classes),
            "head": list(self.head_widths),
            "k": self.k,
            "unit_directions": self.unit_directions,
        }

    def forward(self, batch: Batch) -> Tensor:
        """``[num_graphs, len(classes)]`` logits of a ``Batch`` with ``x`` and a graph or ``pos``."""
        return self._logits(batch, fused=False)

    def fast_forward(self, batch: Batch) -> Tensor:
        """:meth:`forward` with every EdgeConv's first Linear computed per point (training, scoring)."""
        return self._logits(batch, fused=True)

    def _logits(self, batch: Batch, *, fused: bool) -> Tensor:
        x = batch.x
        if x.dim() != 2 or x.shape[1] != self.num_features:
            msg = f"DGCNN expects {self.num_features} features per point, the data has shape {tuple(x.shape)}"
            raise ValueError(msg)
        edges = point_graph(
            batch, k=self.k, width=self.edge_features, owner="DGCNN", unit_directions=self.unit_directions
        )
        edge_index, edge_attr, edge_weight = edges.edge_index, edges.edge_attr, edges.edge_weight
        graph = getattr(batch, "batch", None)
        if graph is None:
            graph = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        x = self.input_norm(x)
        for conv in self.convs:
            x = conv(x, edge_index, edge_attr, edge_weight, fused=fused)
        pooled = pool(
            x,
            graph,
            int(getattr(batch, "num_graphs", 1)),
            reduce=self.pooling,
            weight=getattr(batch, "node_weight", None),
        )
        return self.head(pooled)
