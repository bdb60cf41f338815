"""Relevant walks (GNN-LRP) of a model with one message-passing step: track i → track j → jet.

A walk is a sequence of nodes, one per layer of message passing: the input track ``i``, the track ``j``
whose update ``h_j`` carries it, then the jet. Its relevance ``R_{i→j}`` is the relevance of track ``i``'s
input features that reaches the jet's output through ``h_j`` alone: the LRP backward pass with the
relevance of every other track's update set to 0 (GNN-LRP's masked propagation). LRP's rules pass
relevance down linearly (their ratios come from the forward pass), so a track's walks add up to its
relevance, ``Σ_j R_{i→j} = Σ_f R_{i,f}``, and a jet's walks plus what biases and ε absorb make up its
explained logit.

With one step, a track ``i ≠ j`` reaches ``h_j`` only as the sender of the messages ``i → j`` it is
gathered into, so ``R_{i→j}`` is the source half of the edge relevance of ``i → j`` summed over features.
The self walk ``j → j`` holds what ``j`` gives through its own update: its direct input and its part as
the receiver of every message into ``j`` (the target halves of the edge relevance of ``k → j``). Edge
relevance puts a message's receiver half on the edge; a walk puts it on the receiver's self walk, so a walk
``i → j`` says how much track ``i`` counts for the jet through what ``j`` makes of it.

Schnake et al., "Higher-order explanations of graph neural networks via relevant walks", IEEE TPAMI 44
(2022) 7581, arXiv:2006.03589.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from hepxai.explain.base import Explanation
from hepxai.metrics.interpretation import rank_within_jets
from hepxai.models.registry import GraphModel


@dataclass(frozen=True)
class Walks:
    """Walks ``source → target → graph`` of a batch, with their signed relevance."""

    source: Tensor  # [num_walks] node (batch index) whose input features the walk starts from
    target: Tensor  # [num_walks] node whose update carries it; source == target: the self walk
    relevance: Tensor  # [num_walks] signed relevance, summed over the source node's features
    batch: Tensor  # [num_walks] graph of each walk

    def __post_init__(self) -> None:
        names = ("source", "target", "relevance", "batch")
        shapes = {name: tuple(getattr(self, name).shape) for name in names}
        if len(set(shapes.values())) != 1 or len(shapes["source"]) != 1:
            msg = f"Walks: expected four tensors of one shape [num_walks], got {shapes}"
            raise ValueError(msg)

    def __len__(self) -> int:
        return int(self.source.shape[0])

    def select(self, chosen: Tensor) -> Walks:
        """The walks at ``chosen`` (a boolean mask or indices)."""
        return Walks(self.source[chosen], self.target[chosen], self.relevance[chosen], self.batch[chosen])


def relevant_walks(model: GraphModel, explanation: Explanation, edge_index: Tensor) -> Walks:
    """Every walk ``i → j → jet`` of the explained batch: one per edge, then one self walk per node.

    Args:
        model: The explained model; it must declare ``message_passing_steps == 1``.
        explanation: LRP of the batch with edge relevance (``edges=True``) and node relevance summed over
            pathways (``aggregate="sum"``).
        edge_index: ``[2, num_edges]`` the batch's edges, in the order of ``explanation.edge``.

    Raises:
        ValueError: the model has not one message-passing step, or the explanation has no edge relevance.
    """
    if getattr(model, "message_passing_steps", None) != 1:
        msg = (
            f"relevant walks: {type(model).__name__} declares message_passing_steps="
            f"{getattr(model, 'message_passing_steps', None)}; walks are computed for one step"
        )
        raise ValueError(msg)
    if explanation.edge is None:
        msg = "relevant walks: the explanation has no edge relevance (explain with LRP(..., edges=True))"
        raise ValueError(msg)
    node = explanation.node
    num_nodes, num_features = node.shape
    source, target = edge_index.to(node.device)
    sent = explanation.edge[:, :num_features].sum(dim=1)
    kept = node.sum(dim=1) - scatter(sent, source, dim=0, dim_size=num_nodes, reduce="sum")
    nodes = torch.arange(num_nodes, device=node.device)
    return Walks(
        source=torch.cat([source, nodes]),
        target=torch.cat([target, nodes]),
        relevance=torch.cat([sent, kept]),
        batch=explanation.batch[torch.cat([source, nodes])],
    )


def top_walks(walks: Walks, k: int) -> tuple[Walks, Tensor]:
    """Each graph's ``k`` walks of largest ``|relevance|``, graph by graph, and their rank (0: largest).

    Ties keep the order of ``walks`` (edges first, then self walks).

    Raises:
        ValueError: ``k < 1``.
    """
    if k < 1:
        msg = f"top_walks: k must be >= 1 (got {k})"
        raise ValueError(msg)
    rank = rank_within_jets(walks.relevance.abs(), walks.batch)
    chosen = torch.nonzero(rank < k).squeeze(1)
    order = chosen[torch.argsort(walks.batch[chosen] * (k + 1) + rank[chosen], stable=True)]
    return walks.select(order), rank[order]
