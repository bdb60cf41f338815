"""Point-cloud graphs: the k nearest neighbours plus a self loop, with ``(‖Δr‖, Δr/‖Δr‖)`` on every edge.

Datasets may come without a graph; methods that move points (LRI-Gaussian, PointMask) rebuild it on the
moved positions, keeping the edge attributes differentiable in the positions (the neighbour search is not).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from torch import Tensor
from torch_geometric.data import Batch, Data

from hepxai.data.graphs import distance_and_direction, knn_edge_index

DATA_NEIGHBOURS = 5
"""Neighbours per point of a dataset's graph (the LRI paper's k), a self loop on top."""


def rebuild_graph(batch: Batch, pos: Tensor, k: int) -> Batch:
    """``batch`` with positions ``pos``, the ``k``-nearest-neighbour graph of them (plus self loops) and its
    edge attributes; ``pos`` keeps its gradient through the edge attributes and ``batch.pos``."""
    moved = copy.copy(batch)
    moved.pos = pos
    moved.edge_index = knn_edge_index(pos.detach(), batch.batch, k, loop=True)
    moved.edge_attr = distance_and_direction(pos, moved.edge_index)
    return moved


def with_graphs(graphs: Sequence[Data], k: int = DATA_NEIGHBOURS) -> list[Data]:
    """The graphs, each given the ``k``-nearest-neighbour graph of its ``pos`` where it has none."""
    out = []
    for graph in graphs:
        if getattr(graph, "edge_index", None) is None:
            graph = copy.copy(graph)
            graph.edge_index = knn_edge_index(graph.pos, None, k, loop=True)
            graph.edge_attr = distance_and_direction(graph.pos, graph.edge_index)
        out.append(graph)
    return out
