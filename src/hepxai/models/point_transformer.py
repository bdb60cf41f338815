"""Point Transformer, the LRI paper's attention backbone: vector self-attention over each point's neighbours.

A layer (Zhao et al., eq. 3, with PyG's ``PointTransformerConv`` as the LRI code uses it) computes, for every
edge ``j → i``, a position encoding ``δ_ij = θ(e_ij)`` and per-channel attention weights
``α_ij = softmax_j γ(W_q a_i − W_k a_j + δ_ij)``, and sends ``α_ij ⊙ (W_v a_j + δ_ij)``; the sum over
``j`` passes ``Linear → BatchNorm → ReLU`` and is added to the layer's input (residual), with
``a = ReLU(BatchNorm(Linear(h)))`` in front, as the LRI code's transformer block. ``θ`` and ``γ`` are
``Linear → BatchNorm → ReLU → Linear``. The position encoding reads the edge features ``(‖Δr‖, Δr/‖Δr‖)``
instead of ``p_i − p_j``: the same information (Δr = ‖Δr‖ · direction), and it keeps positions out of the
model except through ``edge_attr``, an input explainers score.

The layer is written on :mod:`hepxai.models.graph_ops` rather than taken from PyG: LRP stops at
``PointTransformerConv``'s own ``Linear`` class (PyG's, which has no rule), the layer gathers and scatters
inside ``MessagePassing.propagate``, where LRP cannot follow which graph an edge row belongs to, and its
softmax would pass relevance on by its ordinary gradient, which does not conserve it.

**LRP rule for the attention.** The attention weights enter through :func:`~hepxai.models.graph_ops.constant`:
LRP holds them fixed and passes relevance through ``α_ij ⊙ v_ij`` to the values only, in proportion to each
contribution, as for the attention heads of transformers in Ali et al., "XAI for transformers: better
explanations through conservative propagation" (ICML 2022, the AH rule) — a linear map of the values for
fixed α, so relevance is conserved (tested), and the query/key path gets none.

**Edge weights** weigh the softmax, ``α_ij = w_ij e^{s_ij} / Σ_j w_ij e^{s_ij}``: they multiply every
message's numerator, and a weight of 0 is exactly a missing edge (a 0/1 node mask equals removing points).

Zhao, Jiang, Jia, Torr, Koltun, "Point transformer" (2021), https://arxiv.org/abs/2012.09164.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from hepxai.models.graph_ops import EMPTY_WEIGHT, aggregate, constant, gather
from hepxai.models.point_backbone import PointBackbone, block
from hepxai.models.registry import register_model


def edge_softmax(score: Tensor, index: Tensor, num_nodes: int, weight: Tensor | None = None) -> Tensor:
    """``[num_edges, channels]`` weighted softmax of ``score`` over the edges of each ``index``, per channel.

    ``w e^s / Σ w e^s`` within each group; a group of zero total weight gives 0.
    """
    peak = scatter(score.detach(), index, dim=0, dim_size=num_nodes, reduce="max")
    exponential = torch.exp(score - peak[index])
    if weight is not None:
        exponential = exponential * weight.reshape(-1, 1)
    total = scatter(exponential, index, dim=0, dim_size=num_nodes, reduce="sum")
    # index_select: a backward that adds in a fixed order (hepxai.data.graphs.distance_and_direction)
    return exponential / total.clamp(min=EMPTY_WEIGHT).index_select(0, index)


def _mlp(in_features: int, hidden: int) -> nn.Sequential:
    """``Linear → BatchNorm1d → ReLU → Linear``."""
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden)
    )


class PointTransformerLayer(nn.Module):
    """One residual Point Transformer block (see the module docstring).

    Args:
        hidden: Width of the embeddings.
        edge_features: Width of ``edge_attr``.
        dropout: Dropout after the input and output blocks.
    """

    def __init__(self, hidden: int, edge_features: int, dropout: float) -> None:
        super().__init__()
        self.lin_in = nn.Sequential(*block(hidden, hidden, dropout))
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.value = nn.Linear(hidden, hidden, bias=False)
        self.position = _mlp(edge_features, hidden)
        self.attention = _mlp(hidden, hidden)
        self.lin_out = nn.Sequential(*block(hidden, hidden, dropout))

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor, edge_weight: Tensor | None) -> Tensor:
        source, target = edge_index
        inner = self.lin_in(h)
        query, key = gather(self.query(inner), target), gather(self.key(inner), source)
        value = gather(self.value(inner), source)
        delta = self.position(edge_attr)  # after a gather: LRP then knows which graph each edge row is in
        alpha = edge_softmax(self.attention(query - key + delta), target, h.shape[0], edge_weight)
        message = constant(alpha) * (value + delta)
        return h + self.lin_out(aggregate(message, target, h.shape[0], reduce="sum"))


@register_model
class PointTransformer(PointBackbone):
    """Point Transformer layers (:class:`PointTransformerLayer`) in the LRI paper's backbone frame.

    Args: as :class:`~hepxai.models.point_backbone.PointBackbone`.
    """

    kind = "point_transformer"

    def make_layer(self, index: int) -> nn.Module:
        return PointTransformerLayer(self.hidden, self.edge_features, self.dropout)
