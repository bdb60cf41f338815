"""The Higgs Interaction Network (HIN): one graph-network layer over the tracks of a jet.

Input BatchNorm over the track features; an edge block ``MLP([x_src, x_dst])``; a node block
``MLP1([x_src, e])``, mean over incoming edges, ``MLP2([x, aggregate])``; a global block: mean over the
tracks of each jet, then ``MLP`` giving two logits in the order [QCD, H]. Every MLP is
``Linear -> BatchNorm1d -> ReLU -> Linear``. Module names and indices match the original checkpoint,
up to the prefixes that :func:`hepxai.models.checkpoint.load_checkpoint` maps.

Its faster exact forms live beside it: the fused pass (:mod:`hepxai.models.fused`) and the dense blocks
(:mod:`hepxai.models.dense`) for scoring and training, and the dense LRP-ε (:mod:`hepxai.models.dense_lrp`),
which registers itself with the explainers' canonizers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.models.dense import dense_applies, dense_forward
from hepxai.models.fused import fused_forward
from hepxai.models.graph_ops import aggregate, gather, pool
from hepxai.models.registry import GraphModel, register_model

CLASSES = ("QCD", "H")


class MLP(nn.Sequential):
    """``Linear -> BatchNorm1d -> ReLU -> Linear``, the block of every HIN MLP."""

    def __init__(self, in_features: int, hidden: int, out_features: int) -> None:
        super().__init__(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_features),
        )


@register_model
class InteractionNetwork(GraphModel):
    """The HIN tagger: fully connected track graphs in, [QCD, H] logits per jet out.

    Honours ``batch.edge_weight`` (weighted mean over the incoming edges of a track) and
    ``batch.node_weight`` (weighted mean over the tracks of a jet); with 0/1 weights that equals removing
    the tracks and edges of weight 0.

    Args:
        num_features: Track features per track (48 for the CMS schema).
        hidden: Width of every hidden layer and of the edge and node embeddings.
        num_classes: Output logits; 2 for [QCD, H].
    """

    kind = "interaction_network"
    classes = CLASSES
    default_target = "H"
    input_norm_name = "bn"
    embedding_name = "node_mlp_2"
    message_passing_steps = 1

    def __init__(self, num_features: int = 48, hidden: int = 128, num_classes: int = 2) -> None:
        super().__init__()
        self.num_features, self.hidden, self.num_classes = num_features, hidden, num_classes
        self.bn = nn.BatchNorm1d(num_features)
        self.edge_mlp = MLP(2 * num_features, hidden, hidden)
        self.node_mlp_1 = MLP(num_features + hidden, hidden, hidden)
        self.node_mlp_2 = MLP(num_features + hidden, hidden, hidden)
        self.global_mlp = MLP(hidden, hidden, num_classes)

    @property
    def config(self) -> dict[str, int]:
        """Constructor arguments, stored in checkpoints."""
        return {"num_features": self.num_features, "hidden": self.hidden, "num_classes": self.num_classes}

    def fast_forward(self, batch: Batch) -> Tensor:
        """The same logits, faster: dense blocks in eval mode on fully connected jets
        (:mod:`hepxai.models.dense`), else the fused pass (:mod:`hepxai.models.fused`) without masks."""
        if getattr(batch, "edge_weight", None) is not None or getattr(batch, "node_weight", None) is not None:
            return self(batch)
        if not self.training and dense_applies(self, batch):
            return dense_forward(self, batch)
        return fused_forward(self, batch)

    def forward(self, batch: Batch) -> Tensor:
        """``[num_jets, num_classes]`` logits for a PyG ``Batch`` with ``x``, ``edge_index`` and ``batch``."""
        x, edge_index = batch.x, batch.edge_index
        if x.shape[1] != self.num_features:
            msg = f"model expects {self.num_features} track features, the data has {x.shape[1]}"
            raise ValueError(msg)
        num_tracks = x.shape[0]
        jet = getattr(batch, "batch", None)
        if jet is None:
            jet = torch.zeros(num_tracks, dtype=torch.long, device=x.device)
        x = self.bn(x)
        source, target = edge_index
        x_source = gather(x, source)
        edge = self.edge_mlp(torch.cat([x_source, gather(x, target)], dim=1))
        message = self.node_mlp_1(torch.cat([x_source, edge], dim=1))
        aggregated = aggregate(
            message, target, num_tracks, reduce="mean", weight=getattr(batch, "edge_weight", None)
        )
        node = self.node_mlp_2(torch.cat([x, aggregated], dim=1))
        pooled = pool(
            node,
            jet,
            int(getattr(batch, "num_graphs", 1)),
            reduce="mean",
            weight=getattr(batch, "node_weight", None),
        )
        return self.global_mlp(pooled)
