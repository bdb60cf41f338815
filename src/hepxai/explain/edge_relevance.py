"""Why an edge classifier scores one edge as it does: relevance on the hits and edges around it.

Two methods, both on the model's own forward pass over the whole event:

* ``"lrp"``: :class:`hepxai.explain.lrp.LRP` with the edge as the explained output row (``index=``). The
  relevance of every hit feature and of every edge's pair geometry, plus what biases and ε absorb, add up to
  the edge's logit (conservation, tested).
* ``"gradient_x_input"``: ``input ⊙ ∂ logit / ∂ input`` for the hit features and the pair geometry (not
  conservative; a first-order view). It also takes the output of any named submodule (``intermediate``)
  as an input: ``t ⊙ ∂ logit / ∂ t`` for every row of it (the bipartite HGNN's supernode embeddings).

For an edge classifier only hits within ``iterations`` steps of the graph from either end of the explained
edge, and the edges that touch them, can receive relevance: each message-passing step reaches one step
further. Any model of ``level == "edge"`` is explained the same way: the explained row is a row of its
output (for the bipartite HGNN, an assignment edge between a hit and a supernode, not a graph edge).
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

    edge: int  # the explained output row: a column of edge_index (of assignment_index for the bipartite HGNN)
    method: str
    logit: float  # the explained logit
    hit_features: np.ndarray  # [num_hits, num_features] relevance of every hit feature
    edge_attr: np.ndarray | None  # [num_edges, edge_features] relevance of every edge's pair geometry
    absorbed: float  # taken by biases and ε (LRP); NaN for gradient × input
    intermediate: np.ndarray | None = None  # [rows, width] gradient × input on the named submodule's output

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
    model: GraphModel,
    event: Data,
    edge: int,
    *,
    method: Method = "lrp",
    epsilon: float = 1e-6,
    intermediate: str | None = None,
) -> EdgeRelevance:
    """Relevance of every hit feature and edge geometry of ``event`` for the logit of edge ``edge``.

    Args:
        model: An edge-level model (``model.level == "edge"``).
        event: One graph with ``x``, ``edge_index`` (and ``edge_attr`` if the model reads it).
        edge: Index of the explained output row (a graph edge of an edge classifier).
        method: ``"lrp"`` or ``"gradient_x_input"``.
        epsilon: LRP's ε.
        intermediate: With ``"gradient_x_input"``, the name of a submodule (``model.submodule``) called
            once per forward whose output rows also get gradient × input (``EdgeRelevance.intermediate``).

    Raises:
        ValueError: not an edge-level model, an edge outside the graph (outside the model's output rows
            for gradient × input), an unknown method, or ``intermediate`` with LRP.
    """
    if model.level != "edge":
        msg = f"explain_edge: the model scores {model.level}s, not edges"
        raise ValueError(msg)
    if method == "lrp":
        if intermediate is not None:
            msg = "explain_edge: intermediate relevance is gradient × input's (method='gradient_x_input')"
            raise ValueError(msg)
        num_edges = event.edge_index.shape[1]
        if not 0 <= edge < num_edges:
            msg = f"explain_edge: edge {edge} is not in the graph (it has {num_edges} edges)"
            raise ValueError(msg)
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
        return _gradient_x_input(model, event, edge, intermediate)
    msg = f"explain_edge: method must be one of {', '.join(METHODS)} (got {method!r})"
    raise ValueError(msg)


def _gradient_x_input(model: GraphModel, event: Data, edge: int, intermediate: str | None) -> EdgeRelevance:
    if edge < 0:
        msg = f"explain_edge: edge {edge} is not an output row"
        raise ValueError(msg)
    parameter = next(model.parameters())
    inputs = event.clone()
    inputs.x = event.x.to(parameter.dtype).detach().requires_grad_(True)
    leaves = [inputs.x]
    has_edge_attr = getattr(event, "edge_attr", None) is not None
    if has_edge_attr:
        inputs.edge_attr = event.edge_attr.to(parameter.dtype).detach().requires_grad_(True)
        leaves.append(inputs.edge_attr)
    captured: list[torch.Tensor] = []

    def keep(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        captured.append(output)

    module = model.submodule(intermediate)
    handle = None if module is None else module.register_forward_hook(keep)
    try:
        with eval_mode(model), torch.enable_grad():
            logits = model(inputs).reshape(-1)
            if edge >= len(logits):
                msg = f"explain_edge: edge {edge} is not an output row (the model gave {len(logits)})"
                raise ValueError(msg)
            if module is not None and len(captured) != 1:
                msg = f"explain_edge: submodule {intermediate!r} ran {len(captured)} times, expected once"
                raise ValueError(msg)
            logit = logits[edge]
            gradients = torch.autograd.grad(logit, leaves + captured, allow_unused=True)
    finally:
        if handle is not None:
            handle.remove()
    relevance = [
        (leaf * (torch.zeros_like(leaf) if grad is None else grad)).detach().double().numpy()
        for leaf, grad in zip(leaves + captured, gradients, strict=True)
    ]
    return EdgeRelevance(
        edge,
        "gradient_x_input",
        float(logit.detach()),
        relevance[0],
        relevance[1] if has_edge_attr else None,
        float("nan"),
        relevance[-1] if captured else None,
    )
