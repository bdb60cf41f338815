"""Point-cloud graphs for the LRI protocol, by the backbones' one rule (:mod:`hepxai.models.point_graph`).

Datasets may come without a graph; methods that move points (LRI-Gaussian, PointMask) rebuild it on the
moved positions, keeping the edge attributes differentiable in the positions (the neighbour search is not).
``unit_directions`` builds graphs on ``pos / ‖pos‖`` (ActsTrack hits, as the LRI code does); a ``radius``
builds the graph of all points within it instead of the k nearest (Tau3Mu, as the LRI code does).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from torch import Tensor
from torch_geometric.data import Batch, Data

from hepxai.models.point_graph import DEFAULT_K, point_graph

DATA_NEIGHBOURS = DEFAULT_K
"""Neighbours per point of a dataset's graph (the LRI paper's k), a self loop on top."""


def rebuild_graph(
    batch: Batch, pos: Tensor, k: int, *, radius: float | None = None, unit_directions: bool = False
) -> Batch:
    """``batch`` with positions ``pos``, the ``k``-nearest-neighbour graph of them (or, given a ``radius``,
    the graph of the points within it; plus self loops) and its edge attributes; ``pos`` keeps its gradient
    through the edge attributes and ``batch.pos``."""
    moved = copy.copy(batch)
    moved.pos, moved.edge_index, moved.edge_attr = pos, None, None
    graph = point_graph(moved, k=k, radius=radius, unit_directions=unit_directions)
    moved.edge_index, moved.edge_attr = graph.edge_index, graph.edge_attr
    return moved


def with_graphs(
    graphs: Sequence[Data],
    k: int = DATA_NEIGHBOURS,
    *,
    radius: float | None = None,
    unit_directions: bool = False,
) -> list[Data]:
    """The graphs, each given the ``k``-nearest-neighbour graph of its ``pos`` (or the ``radius`` graph)
    where it has none."""
    out = []
    for graph in graphs:
        if getattr(graph, "edge_index", None) is None:
            graph = rebuild_graph(graph, graph.pos, k, radius=radius, unit_directions=unit_directions)
        out.append(graph)
    return out
