"""A DGCNN-style EdgeConv network for point clouds: the LRI paper's DGCNN backbone, on a given graph.

Every layer sends a message ``MLP([x_i, x_j − x_i, e_ij])`` along each edge ``j → i`` of the graph and
reduces the messages onto ``i`` (mean or max); layers after the first add their input back (residual).
The first layer reads the standardised point features directly (no linear encoder, unlike the other
backbones). The rest — input BatchNorm, the graph of :func:`hepxai.models.point_graph.point_graph`, pooling
and head — is the frame every point backbone shares (:class:`~hepxai.models.point_backbone.PointBackbone`).
The graph is not rebuilt from hidden features (the LRI paper's "second class" of models): it is the one the
batch carries, or the ``k``-nearest-neighbour graph of ``batch.pos`` plus self loops with the geometric edge
features ``e_ij = (‖Δr‖, Δr/‖Δr‖)``; explainers treat ``edge_attr`` as an input.

Wang et al., "Dynamic graph CNN for learning on point clouds" (2019), https://arxiv.org/abs/1801.07829;
Miao et al., "Interpretable geometric deep learning via learnable randomness injection" (2023), appendix D.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from hepxai.models.graph_ops import aggregate, constant, gather
from hepxai.models.point_backbone import PointBackbone, block, edge_linear_per_point
from hepxai.models.registry import register_model

Aggregation = Literal["mean", "max"]


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
class DGCNN(PointBackbone):
    """EdgeConv layers (:class:`EdgeConv`) in the point backbones' frame: point clouds in, one logit per
    class per graph out.

    Positions enter only through the edge features, so the model is invariant to translations of a point
    cloud, and to the order of its points. Honours ``batch.edge_weight`` (weighs the mean or multiplies the
    messages of a max) and ``batch.node_weight`` (weighs the pooling); with 0/1 weights from a node mask
    (:func:`hepxai.explain.forward.masked_batch`) the logits equal those of the point clouds without the
    masked points.

    Args:
        num_features: Features per point (``batch.x``), 3 by default.
        aggregation: ``"mean"`` (the LRI code) or ``"max"`` (the DGCNN paper) over incoming edges.
        Others: as :class:`~hepxai.models.point_backbone.PointBackbone`; ``edge_features`` may be 0 (messages
            from the point features alone), and ``head=(hidden,)`` gives the head of checkpoints written
            before that option existed.
    """

    kind = "dgcnn"
    linear_encoder = False
    min_edge_features = 0
    fused_layers = True
    renamed_keys: ClassVar[dict[str, str]] = {"convs.": "layers."}  # before DGCNN was a PointBackbone

    def __init__(
        self, num_features: int = 3, *args: Any, aggregation: Aggregation = "mean", **options: Any
    ) -> None:
        if aggregation not in ("mean", "max"):
            msg = f"DGCNN: aggregation must be one of mean, max (got {aggregation!r})"
            raise ValueError(msg)
        self.aggregation = aggregation
        super().__init__(num_features, *args, **options)

    def make_layer(self, index: int) -> nn.Module:
        return EdgeConv(
            self.num_features if index == 0 else self.hidden,
            self.edge_features,
            self.hidden,
            aggregation=self.aggregation,
            dropout=self.dropout,
            residual=index > 0,
        )

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "aggregation": self.aggregation}
