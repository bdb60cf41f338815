"""The graph operations every model is built from: gather by edge, aggregation, pooling, constant factors.

They compute what ``x[index]`` and ``torch_geometric.utils.scatter`` compute. Routing them through one
place lets an explainer follow the graph while the model's own forward runs: LRP learns which graph every
row of an intermediate tensor belongs to and reads the relevance of each edge's inputs (see
:mod:`hepxai.explain.lrp`). Outside an explanation they cost nothing extra.

Means may be weighted (``weight``: a per-row factor, e.g. an edge or node mask); a weighted mean is
``Σ w·v / Σ w`` and an empty or zero-weight group gives 0, as ``scatter`` does for an empty group.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, Protocol

from torch import Tensor
from torch_geometric.utils import scatter

Reduce = Literal["sum", "mean", "max"]

EMPTY_WEIGHT = 1e-12
"""A group whose weights sum below this counts as empty; dividing by less makes gradients overflow."""


class GraphTracer(Protocol):
    """What an explainer implements to follow the graph operations of a forward pass."""

    def gathered(self, values: Tensor, index: Tensor, out: Tensor) -> Tensor: ...

    def scattered(self, out: Tensor, index: Tensor, num_rows: int, to_graphs: bool) -> Tensor: ...

    def constant(self, factor: Tensor) -> Tensor: ...


_TRACER: ContextVar[GraphTracer | None] = ContextVar("hepxai_graph_tracer", default=None)


@contextmanager
def tracing(tracer: GraphTracer) -> Iterator[GraphTracer]:
    """Let ``tracer`` follow every graph operation run inside the block."""
    token = _TRACER.set(tracer)
    try:
        yield tracer
    finally:
        _TRACER.reset(token)


def gather(values: Tensor, index: Tensor) -> Tensor:
    """``values[index]``: the rows of the nodes at one end of every edge."""
    out = values.index_select(0, index)
    tracer = _TRACER.get()
    return out if tracer is None else tracer.gathered(values, index, out)


def aggregate(
    messages: Tensor, index: Tensor, num_nodes: int, *, reduce: Reduce = "mean", weight: Tensor | None = None
) -> Tensor:
    """``[num_nodes, ...]`` the messages reduced onto the node ``index`` names (e.g. each edge's target)."""
    out = _reduce(messages, index, num_nodes, reduce, weight)
    tracer = _TRACER.get()
    return out if tracer is None else tracer.scattered(out, index, num_nodes, False)


def pool(
    values: Tensor, batch: Tensor, num_graphs: int, *, reduce: Reduce = "mean", weight: Tensor | None = None
) -> Tensor:
    """``[num_graphs, ...]`` node values reduced over the nodes of each graph."""
    out = _reduce(values, batch, num_graphs, reduce, weight)
    tracer = _TRACER.get()
    return out if tracer is None else tracer.scattered(out, batch, num_graphs, True)


def constant(factor: Tensor) -> Tensor:
    """A factor that multiplies an activation (a mask, an attention weight).

    LRP treats it as a constant (relevance passes through the product to the activation); elsewhere it
    is ``factor`` unchanged and differentiable.
    """
    tracer = _TRACER.get()
    return factor if tracer is None else tracer.constant(factor)


def _reduce(values: Tensor, index: Tensor, size: int, reduce: Reduce, weight: Tensor | None) -> Tensor:
    if weight is None:
        return scatter(values, index, dim=0, dim_size=size, reduce=reduce)
    if reduce == "max":
        msg = "a weighted max is not defined; weight the values before a max instead"
        raise ValueError(msg)
    weight = constant(weight).reshape(-1, *([1] * (values.dim() - 1)))
    total = scatter(values * weight, index, dim=0, dim_size=size, reduce="sum")
    if reduce == "sum":
        return total
    norm = scatter(weight, index, dim=0, dim_size=size, reduce="sum")
    return total / norm.clamp(min=EMPTY_WEIGHT)
