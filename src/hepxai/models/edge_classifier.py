"""The edge-classifier Interaction Network of the Exa.TrkX tracking chain: one logit per edge of a hit graph.

Encoders map every hit (features ``x``: r, φ, z scaled) and every edge (its two hits and the pair geometry
``edge_attr``) to ``hidden`` channels. Each of ``iterations`` message-passing steps then updates every hit
from the sums of its incoming and of its outgoing edge embeddings, and every edge from its two hits, both
with residuals; a last edge MLP gives the logit that the edge joins two consecutive hits of one particle.

The encoders are ``Linear → BatchNorm1d → ReLU → Linear → ReLU`` (the BatchNorm standardises the raw
inputs). The update and output MLPs are ``Linear → ReLU → Linear (→ ReLU)`` whose first layer, on the
concatenation ``[node_source, node_target, edge]``, is computed part by part: the two node parts are
projected on the hits and then gathered onto the edges. That is the same function as one ``Linear`` on the
concatenation, at a third of the multiplications per edge and without the ``[edges, 3 × hidden]`` copy, which
dominate the cost on 2 CPU cores. Every graph operation goes through :mod:`hepxai.models.graph_ops`, so LRP
follows the graph and its relevance conserves the explained edge logit (each part's rule sees its own
pre-activation; the sum of the parts passes relevance on in proportion).

Battaglia et al., "Interaction networks for learning about objects, relations and physics" (2016),
https://arxiv.org/abs/1612.00222; Ju et al., "Performance of a geometric deep learning pipeline for HL-LHC
particle tracking", EPJC 81 (2021) 876, https://arxiv.org/abs/2103.06995.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.models.graph_ops import aggregate, gather
from hepxai.models.registry import GraphModel, register_model


def _encoder(in_features: int, hidden: int) -> nn.Sequential:
    """``Linear → BatchNorm1d → ReLU → Linear → ReLU``."""
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
    )


class EdgeUpdate(nn.Module):
    """``MLP([node_source, node_target, edge])`` per edge, the first layer computed part by part.

    ``source``/``target`` project the node embeddings on the hits (no bias), ``edge`` the edge embedding (with
    the bias); their sum, gathered onto the edges, equals one ``Linear`` on the concatenation. Then ``ReLU →
    Linear`` and, unless it is the output head, a last ``ReLU``.
    """

    def __init__(self, hidden: int, out_features: int, *, last_activation: bool = True) -> None:
        super().__init__()
        self.source = nn.Linear(hidden, hidden, bias=False)
        self.target = nn.Linear(hidden, hidden, bias=False)
        self.edge = nn.Linear(hidden, hidden)
        layers: list[nn.Module] = [nn.ReLU(), nn.Linear(hidden, out_features)]
        self.mlp = nn.Sequential(*layers, nn.ReLU()) if last_activation else nn.Sequential(*layers)

    def forward(self, node: Tensor, edge: Tensor, edge_index: Tensor) -> Tensor:
        source, target = edge_index
        first = gather(self.source(node), source) + gather(self.target(node), target) + self.edge(edge)
        return self.mlp(first)


@register_model
class EdgeClassifier(GraphModel):
    """Interaction Network edge classifier: a hit graph in, ``[num_edges, 1]`` logits out.

    Honours ``batch.edge_weight``: it multiplies every edge's embedding where hits sum their edges, so a
    weight of 0 cuts the edge out of the message passing (its own logit is still computed).

    Args:
        num_features: Features per hit (``batch.x``; 3 for r, φ, z).
        edge_features: Width of ``batch.edge_attr`` (the pair geometry), or 0 to ignore it.
        hidden: Width of every hit and edge embedding and of every hidden layer.
        iterations: Message-passing steps.
    """

    kind = "edge_classifier"
    level = "edge"
    classes = ("true",)
    default_target = "true"

    def __init__(self, num_features: int = 3, edge_features: int = 0, hidden: int = 64, iterations: int = 6):
        super().__init__()
        if num_features < 1 or edge_features < 0 or hidden < 1 or iterations < 1:
            msg = (
                "EdgeClassifier: needs num_features, hidden, iterations >= 1 and edge_features >= 0 (got "
                f"{num_features}, {hidden}, {iterations}, {edge_features})"
            )
            raise ValueError(msg)
        self.num_features, self.edge_features = num_features, edge_features
        self.hidden, self.iterations = hidden, iterations
        self.embedding_name = f"node_networks.{iterations - 1}"
        self.node_encoder = _encoder(num_features, hidden)
        self.edge_encoder = _encoder(2 * num_features + edge_features, hidden)
        self.node_networks = nn.ModuleList(
            nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            for _ in range(iterations)
        )
        self.edge_networks = nn.ModuleList(EdgeUpdate(hidden, hidden) for _ in range(iterations))
        self.output = EdgeUpdate(hidden, 1, last_activation=False)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "num_features": self.num_features,
            "edge_features": self.edge_features,
            "hidden": self.hidden,
            "iterations": self.iterations,
        }

    def forward(self, batch: Batch) -> Tensor:
        """``[num_edges, 1]`` logits of a ``Batch`` or ``Data`` with ``x``, ``edge_index``, ``edge_attr``."""
        x, edge_index = batch.x, batch.edge_index
        if x.dim() != 2 or x.shape[1] != self.num_features:
            msg = (
                f"EdgeClassifier expects {self.num_features} features per hit, the data has {tuple(x.shape)}"
            )
            raise ValueError(msg)
        source, target = edge_index
        num_hits = x.shape[0]
        parts = [gather(x, source), gather(x, target)]
        if self.edge_features:
            edge_attr = getattr(batch, "edge_attr", None)
            expected = (edge_index.shape[1], self.edge_features)
            if edge_attr is None or tuple(edge_attr.shape) != expected:
                got = None if edge_attr is None else tuple(edge_attr.shape)
                msg = f"EdgeClassifier expects edge_attr of shape {expected}, the data has {got}"
                raise ValueError(msg)
            parts.append(edge_attr.to(x.dtype))
        weight = getattr(batch, "edge_weight", None)
        node = self.node_encoder(x)
        edge = self.edge_encoder(torch.cat(parts, dim=1))
        for node_network, edge_network in zip(self.node_networks, self.edge_networks, strict=True):
            incoming = aggregate(edge, target, num_hits, reduce="sum", weight=weight)
            outgoing = aggregate(edge, source, num_hits, reduce="sum", weight=weight)
            node = node + node_network(torch.cat([node, incoming, outgoing], dim=1))
            edge = edge + edge_network(node, edge, edge_index)
        return self.output(node, edge, edge_index)
