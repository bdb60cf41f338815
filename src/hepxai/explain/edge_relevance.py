"""Why an edge classifier scores one edge as it does: relevance on the hits and edges around it.

Two methods, both on the model's own forward pass over the whole event:

* ``"lrp"``: :class:`hepxai.explain.lrp.LRP` with the edge as the explained output row (``index=``). The
  relevance of every hit feature and of every edge's pair geometry, plus what biases and ε absorb, add up to
  the edge's logit (conservation, tested).
* ``"gradient_x_input"``: ``input ⊙ ∂ logit / ∂ input`` for the hit features and the pair geometry (not
  conservative; a first-order view).

Only hits within ``iterations`` steps of the graph from either end of the explained edge, and the edges that
touch them, can receive relevance: each message-passing step reaches one step further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.explain.forward import eval_mode
from hepxai.explain.lrp import LRP
from hepxai.models.registry import GraphModel

Method = Literal["lrp", "gradient_x_input"]
METHODS: tuple[Method, ...] = ("lrp", "gradient_x_input")


@dataclass(frozen=True)
class EdgeRelevance:
    """The explanation of one edge's logit."""

    edge: int  # the explained edge (column of edge_index)
    method: str
    logit: float  # the explained logit
    hit_features: np.ndarray  # [num_hits, num_features] relevance of every hit feature
    edge_attr: np.ndarray | None  # [num_edges, edge_features] relevance of every edge's pair geometry
    absorbed: float  # taken by biases and ε (LRP); NaN for gradient × input

    @property
    def hit(self) -> np.ndarray:
        """``[num_hits]`` relevance per hit, summed over its features."""
        return self.hit_features.sum(axis=1)

    @property
    def edge_geometry(self) -> np.ndarray:
        """``[num_edges]`` relevance per edge, summed over its pair geometry (0 without ``edge_attr``)."""
        num_edges = 0 if self.edge_attr is None else self.edge_attr.shape[0]
        return np.zeros(num_edges) if self.edge_attr is None else self.edge_attr.sum(axis=1)

    @property
    def total(self) -> float:
        """All relevance on the inputs; with ``absorbed`` it makes up the logit for LRP."""
        geometry = 0.0 if self.edge_attr is None else float(self.edge_attr.sum())
        return float(self.hit_features.sum()) + geometry


def explain_edge(
    model: GraphModel, event: Data, edge: int, *, method: Method = "lrp", epsilon: float = 1e-6
) -> EdgeRelevance:
    """Relevance of every hit feature and edge geometry of ``event`` for the logit of edge ``edge``.

    Args:
        model: An edge-level model (``model.level == "edge"``).
        event: One graph with ``x``, ``edge_index`` (and ``edge_attr`` if the model reads it).
        edge: Index of the explained edge.
        method: ``"lrp"`` or ``"gradient_x_input"``.
        epsilon: LRP's ε.

    Raises:
        ValueError: not an edge-level model, an edge outside the graph, or an unknown method.
    """
    if model.level != "edge":
        msg = f"explain_edge: the model scores {model.level}s, not edges"
        raise ValueError(msg)
    num_edges = event.edge_index.shape[1]
    if not 0 <= edge < num_edges:
        msg = f"explain_edge: edge {edge} is not in the graph (it has {num_edges} edges)"
        raise ValueError(msg)
    if method == "lrp":
        explanation = LRP(model, epsilon=epsilon, edges=False).explain(event, index=torch.tensor([edge]))
        edge_attr = explanation.edge_attr
        return EdgeRelevance(
            edge,
            method,
            float(explanation.logit.sum()),
            explanation.node.detach().double().numpy(),
            None if edge_attr is None else edge_attr.detach().double().numpy(),
            float(explanation.absorbed.sum()),
        )
    if method == "gradient_x_input":
        return _gradient_x_input(model, event, edge)
    msg = f"explain_edge: method must be one of {', '.join(METHODS)} (got {method!r})"
    raise ValueError(msg)


def _gradient_x_input(model: GraphModel, event: Data, edge: int) -> EdgeRelevance:
    parameter = next(model.parameters())
    inputs = event.clone()
    inputs.x = event.x.to(parameter.dtype).detach().requires_grad_(True)
    leaves = [inputs.x]
    if getattr(event, "edge_attr", None) is not None:
        inputs.edge_attr = event.edge_attr.to(parameter.dtype).detach().requires_grad_(True)
        leaves.append(inputs.edge_attr)
    with eval_mode(model), torch.enable_grad():
        logit = model(inputs).reshape(-1)[edge]
        gradients = torch.autograd.grad(logit, leaves, allow_unused=True)
    relevance = [
        (leaf * (torch.zeros_like(leaf) if grad is None else grad)).detach().double().numpy()
        for leaf, grad in zip(leaves, gradients, strict=True)
    ]
    return EdgeRelevance(
        edge,
        "gradient_x_input",
        float(logit.detach()),
        relevance[0],
        relevance[1] if len(relevance) > 1 else None,
        float("nan"),
    )
