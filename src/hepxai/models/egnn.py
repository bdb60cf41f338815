"""EGNN, the LRI paper's E(n)-equivariant graph network backbone, invariant form (no coordinate update).

Every layer sends ``m_ij = φ_e([h_i, h_j, e_ij])`` along each edge ``j → i``, sums the messages onto ``i``
and updates ``h_i ← h_i + φ_h([h_i, Σ_j w_ij m_ij])`` (Satorras et al., eq. 3–6, without eq. 4). ``φ_e``
and ``φ_h`` are two ``Linear → BatchNorm → ReLU → Dropout`` blocks each. The geometry enters through the
edge features: ``e_ij = (‖Δr‖, Δr/‖Δr‖)``, or with ``distance_only`` the distance alone, which makes the
model invariant to rotations and reflections as well as translations (EGNN's radial input, here ‖Δr‖
instead of ‖Δr‖²: an MLP of either is as expressive).

Why no coordinate update: the prediction is a graph label, and the LRI authors' EGNN keeps positions fixed
as well (their layer removes the coordinate MLP). It also keeps the model a chain of linear maps,
ReLUs and sums: the update ``x_i + Σ_j (x_i − x_j) φ_x(m_ij)`` multiplies two activations, and its
relevance would flow into positions, which are not an input LRP scores. Without it LRP applies with its
ordinary rules and conserves relevance (tested). Edge weights multiply the messages before the sum, so a
weight of 0 is a missing edge.

Satorras, Hoogeboom, Welling, "E(n) equivariant graph neural networks" (2021), https://arxiv.org/abs/2102.09844.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepxai.models.graph_ops import aggregate, gather
from hepxai.models.point_backbone import PointBackbone, block, edge_linear_per_point
from hepxai.models.registry import register_model


class EGNNLayer(nn.Module):
    """``h_i + φ_h([h_i, Σ_j w_ij φ_e([h_i, h_j, e_ij])])``.

    Args:
        hidden: Width of ``h`` and of the messages.
        edge_features: Width of the edge input ``e_ij``.
        dropout: Dropout after every ReLU.
        distance_only: Read only the first column of ``edge_attr`` (the distance).
    """

    def __init__(self, hidden: int, edge_features: int, dropout: float, *, distance_only: bool) -> None:
        super().__init__()
        self.distance_only = distance_only
        width = 1 if distance_only else edge_features
        self.edge_mlp = nn.Sequential(
            *block(2 * hidden + width, hidden, dropout), *block(hidden, hidden, dropout)
        )
        self.node_mlp = nn.Sequential(*block(2 * hidden, hidden, dropout), *block(hidden, hidden, dropout))

    def forward(
        self,
        h: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        edge_weight: Tensor | None,
        *,
        fused: bool = False,
    ) -> Tensor:
        """``fused``: ``φ_e``'s first Linear per point
        (:func:`~hepxai.models.point_backbone.edge_linear_per_point`)."""
        source, target = edge_index
        geometry = edge_attr[:, :1] if self.distance_only else edge_attr
        if fused:
            first = edge_linear_per_point(self.edge_mlp[0], h, source, target, geometry, relative=False)
            message = self.edge_mlp[1:](first)
        else:
            message = self.edge_mlp(torch.cat([gather(h, target), gather(h, source), geometry], dim=1))
        summed = aggregate(message, target, h.shape[0], reduce="sum", weight=edge_weight)
        return h + self.node_mlp(torch.cat([h, summed], dim=1))


@register_model
class EGNN(PointBackbone):
    """EGNN layers (:class:`EGNNLayer`) in the LRI paper's backbone frame (:class:`PointBackbone`).

    Args:
        distance_only: Messages see ``‖Δr‖`` only (invariant to rotations; the LRI code's SynMol setting)
            instead of ``(‖Δr‖, Δr/‖Δr‖)`` (its ActsTrack setting, the default).
        Others: as :class:`~hepxai.models.point_backbone.PointBackbone`.
    """

    kind = "egnn"

    def __init__(self, *args: Any, distance_only: bool = False, **options: Any) -> None:
        self.distance_only = distance_only
        super().__init__(*args, **options)

    fused_layers = True

    def make_layer(self, index: int) -> nn.Module:
        return EGNNLayer(self.hidden, self.edge_features, self.dropout, distance_only=self.distance_only)

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "distance_only": self.distance_only}
