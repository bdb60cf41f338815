"""The graph a point-cloud backbone runs on: the batch's own, or the LRI paper's kNN graph of ``pos``.

One rule for every backbone (DGCNN, EGNN, Point Transformer):

- ``edge_index``: ``batch.edge_index`` when the batch has one; else every point's ``k`` nearest neighbours
  of the same cloud plus its self loop, from ``batch.pos`` (:func:`hepxai.data.graphs.knn_edge_index`), or,
  given a ``radius``, every point of the same cloud within it (:func:`~hepxai.data.graphs.radius_edge_index`,
  the LRI paper's Tau3Mu graph).
- ``edge_attr``: ``batch.edge_attr`` when the batch has one; else ``(‖Δr‖, Δr/‖Δr‖)`` of the edges from
  ``batch.pos`` (:func:`hepxai.data.graphs.distance_and_direction`).
- ``edge_weight``: ``batch.edge_weight`` or ``None``.

With ``unit_directions`` a graph built here uses ``pos / ‖pos‖`` in place of ``pos``
(:func:`~hepxai.data.graphs.unit_direction`, the LRI code's treatment of ActsTrack hits); a graph the batch
carries is used as it is.

Datasets on disk hold points only (``pos``, ``x``), so files stay small and a method that moves the points
(LRI-Gaussian) rebuilds the graph on the moved positions by setting its own ``edge_index``, ``edge_attr``
and ``edge_weight``. Edge features built here from ``pos`` are differentiable in ``pos`` (gradients with
respect to positions, GradGeo). Explainers that read ``batch.edge_index`` themselves (masks, LRP) take a
batch with the graph attached, :func:`with_point_graph`; LRP then reports the relevance of ``edge_attr`` as
an input, which keeps its conservation check complete.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import Tensor
from torch_geometric.data import Batch

from hepxai.data.graphs import distance_and_direction, knn_edge_index, radius_edge_index, unit_direction

DEFAULT_K = 5
"""Neighbours per point of the LRI paper's graphs (a self loop comes on top)."""


@dataclass(frozen=True)
class PointGraph:
    """The edges a backbone sends messages along."""

    edge_index: Tensor  # [2, num_edges] source j -> target i
    edge_attr: Tensor | None  # [num_edges, 1 + dims] (‖Δr‖, Δr/‖Δr‖); None when not asked for
    edge_weight: Tensor | None  # [num_edges] or None


def point_graph(
    batch: Batch,
    *,
    k: int = DEFAULT_K,
    radius: float | None = None,
    width: int = 4,
    owner: str = "point graph",
    unit_directions: bool = False,
) -> PointGraph:
    """The graph of ``batch`` by the rule of this module.

    Args:
        batch: PyG ``Batch`` (or ``Data``) with ``pos`` or a graph of its own.
        k: Neighbours per point when the graph is built (self loop on top).
        radius: Build the graph of all points within this distance instead (self loop on top).
        width: Edge features the caller reads (``edge_attr`` must have this many columns); 0: none, and
            ``edge_attr`` comes back ``None``.
        owner: Who asks, for error messages.
        unit_directions: Build from ``pos / ‖pos‖`` instead of ``pos``
            (:func:`~hepxai.data.graphs.unit_direction`).

    Raises:
        ValueError: the batch has neither ``edge_index`` nor ``pos``, ``edge_attr`` without
            ``edge_index``, or ``edge_attr`` of another shape than ``[num_edges, width]``.
    """
    edge_index = getattr(batch, "edge_index", None)
    edge_attr = getattr(batch, "edge_attr", None)
    pos = getattr(batch, "pos", None)
    if pos is not None and unit_directions:
        pos = unit_direction(pos)
    if edge_index is None:
        if edge_attr is not None:
            msg = f"{owner}: the batch has edge_attr but no edge_index; set both, or neither"
            raise ValueError(msg)
        if pos is None:
            msg = f"{owner}: the batch has neither edge_index nor pos to build a graph from"
            raise ValueError(msg)
        cloud = getattr(batch, "batch", None)
        if radius is None:
            edge_index = knn_edge_index(pos.detach(), cloud, k, loop=True)
        else:
            edge_index = radius_edge_index(pos.detach(), cloud, radius, loop=True)
    if not width:
        edge_attr = None
    elif edge_attr is None:
        if pos is None:
            msg = f"{owner}: the batch has no edge_attr and no pos to compute it from"
            raise ValueError(msg)
        edge_attr = distance_and_direction(pos, edge_index)
    if edge_attr is not None and tuple(edge_attr.shape) != (edge_index.shape[1], width):
        msg = (
            f"{owner} expects edge_attr of shape {(edge_index.shape[1], width)} (distance and direction), "
            f"got shape {tuple(edge_attr.shape)}"
        )
        raise ValueError(msg)
    return PointGraph(edge_index, edge_attr, getattr(batch, "edge_weight", None))


def with_point_graph(batch: Batch, *, k: int = DEFAULT_K, unit_directions: bool = False) -> Batch:
    """A shallow copy of ``batch`` that carries its graph (``edge_index``, ``edge_attr``) explicitly."""
    edge_attr, pos = getattr(batch, "edge_attr", None), getattr(batch, "pos", None)
    width = edge_attr.shape[1] if edge_attr is not None else 1 + pos.shape[1] if pos is not None else 0
    graph = point_graph(batch, k=k, width=width, owner="with_point_graph", unit_directions=unit_directions)
    attached = copy.copy(batch)
    attached.edge_index = graph.edge_index
    if graph.edge_attr is not None:
        attached.edge_attr = graph.edge_attr.detach()
    return attached
