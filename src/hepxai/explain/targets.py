"""What an explainer explains: one output column of the model, or the difference of two, per graph.

A model names its output columns (``model.classes``, e.g. ``("QCD", "H")``). A target is a column name or
``"A-B"``, the difference of two columns (``"H-QCD"``). For models with one output row per node or edge
(``model.level``), ``index`` chooses the rows to explain (e.g. one edge of an edge classifier); the
explained quantity of each graph is the sum of its chosen rows, so per-graph conservation still holds.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.models.registry import GraphModel


def resolve_target(model: GraphModel, target: str | None) -> str:
    """``target``, or the model's default; checked against the model's output columns.

    Raises:
        ValueError: not a column name nor a difference of two.
    """
    target = model.default_target if target is None else target
    target_weights(model, target)
    return target


def target_weights(model: GraphModel, target: str) -> Tensor:
    """``[num_classes]`` weights of the output columns: 1 on the target, or +1 and −1 for ``"A-B"``.

    Raises:
        ValueError: ``target`` is neither a column name nor a difference of two.
    """
    classes = tuple(model.classes)
    weights = torch.zeros(len(classes), dtype=torch.float64)
    if target in classes:
        weights[classes.index(target)] = 1.0
        return weights
    first, _, second = target.partition("-")
    if first in classes and second in classes and first != second:
        weights[classes.index(first)], weights[classes.index(second)] = 1.0, -1.0
        return weights
    valid = [*classes, *(f"{a}-{b}" for a in classes for b in classes if a != b)]
    msg = f"target must be one of {', '.join(valid)} (got {target!r})"
    raise ValueError(msg)


def output_graph(model: GraphModel, batch: Batch, num_rows: int) -> Tensor:
    """``[num_rows]`` the graph each output row belongs to, for the model's output level."""
    device = batch.x.device
    if model.level == "graph":
        return torch.arange(num_rows, device=device)
    node_graph = _node_graph(batch)
    return node_graph if model.level == "node" else node_graph[batch.edge_index[0]]


def output_seed(
    model: GraphModel, batch: Batch, logits: Tensor, target: str, index: Tensor | None = None
) -> Tensor:
    """``[rows, num_classes]`` the gradient seed at the logits: the target's weights on the chosen rows."""
    seed = target_weights(model, target).to(logits).expand_as(logits).clone()
    if index is not None:
        chosen = torch.zeros(logits.shape[0], dtype=torch.bool, device=logits.device)
        chosen[index.to(logits.device)] = True
        seed[~chosen] = 0.0
    return seed


def explained_logit(
    model: GraphModel, batch: Batch, logits: Tensor, target: str, index: Tensor | None = None
) -> Tensor:
    """``[num_graphs]`` the explained quantity of every graph (differentiable in ``logits``)."""
    per_row = (logits * output_seed(model, batch, logits, target, index)).sum(dim=1)
    if model.level == "graph":
        return per_row
    graph = output_graph(model, batch, logits.shape[0])
    return scatter(per_row, graph, dim=0, dim_size=num_graphs(batch), reduce="sum")


def num_graphs(batch: Batch) -> int:
    """Graphs in ``batch`` (1 for a single ``Data``)."""
    return int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1


def _node_graph(batch: Batch) -> Tensor:
    graph = getattr(batch, "batch", None)
    if graph is None:
        return torch.zeros(batch.x.shape[0], dtype=torch.long, device=batch.x.device)
    return graph


def class_probabilities(logits: Tensor) -> Tensor:
    """``[rows, num_classes]`` the probability of every class (float64): softmax over the columns, or σ of
    a single logit (the probability of its one class)."""
    if logits.shape[1] == 1:
        return torch.sigmoid(logits.double())
    return torch.softmax(logits.double(), dim=1)


def target_probability(model: GraphModel, logits: Tensor, target: str | None = None) -> Tensor:
    """``[rows]`` the probability of the target's (first) class: softmax over the columns, σ for one."""
    if logits.shape[1] == 1:
        return class_probabilities(logits)[:, 0]
    target = resolve_target(model, target)
    classes = tuple(model.classes)
    column = classes.index(target if target in classes else target.partition("-")[0])
    return class_probabilities(logits)[:, column]
