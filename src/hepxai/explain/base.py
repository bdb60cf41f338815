"""The result every explainer returns, the per-track and per-feature summaries of it, and the registry.

Every explainer has one signature, ``Explainer(model, **knobs).explain(batch, *, target="H")``, and
registers itself by name with :func:`register_explainer`, so commands and checks choose methods by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

TARGETS = ("H", "QCD", "H-QCD")
"""What can be explained for the HIN tagger: one class logit, or the difference of the two (other models name
their own output columns, see :mod:`hepxai.explain.targets`)."""


@dataclass(frozen=True)
class Explanation:
    """Relevance of one batch of graphs (jets, point clouds, events), from any explainer.

    Fields a method cannot define are ``None``. A method that gives one score per node (a mask) stores it as
    ``node`` of shape ``[num_nodes, 1]``. For jets, nodes are tracks and graphs are jets.
    """

    node: Tensor  # [num_nodes, num_features] relevance of every node feature
    batch: Tensor  # [num_nodes] graph index (0 ... num_graphs-1) of each node
    edge: Tensor | None = None  # [num_edges, 2 * num_features] relevance of [source, target] features
    edge_significance: Tensor | None = None  # [num_edges], sums to 1 within each graph that has edges
    absorbed: Tensor | None = None  # [num_graphs] relevance taken by biases and stabilisers
    logit: Tensor | None = None  # [num_graphs] the explained quantity of each graph
    target: str = "H"  # what was explained: an output column ("H") or a difference ("H-QCD")
    index: Tensor | None = None  # node/edge-level models: the explained output rows (None: all)
    edge_attr: Tensor | None = None  # [num_edges, edge_features] relevance of the edge attributes

    def __post_init__(self) -> None:
        if self.node.dim() != 2:
            msg = f"Explanation.node: expected [num_tracks, num_features], got shape {tuple(self.node.shape)}"
            raise ValueError(msg)
        num_tracks = self.node.shape[0]
        if self.batch.shape != (num_tracks,):
            msg = f"Explanation.batch: expected shape ({num_tracks},), got {tuple(self.batch.shape)}"
            raise ValueError(msg)
        if not isinstance(self.target, str) or not self.target:
            msg = f"Explanation.target: expected the name of what was explained, got {self.target!r}"
            raise ValueError(msg)
        num_jets = self.num_jets
        for name in ("absorbed", "logit"):
            value = getattr(self, name)
            if value is not None and value.shape != (num_jets,):
                msg = f"Explanation.{name}: expected shape ({num_jets},), got {tuple(value.shape)}"
                raise ValueError(msg)
        if self.edge is not None and (self.edge.dim() != 2 or self.edge.shape[1] != 2 * self.node.shape[1]):
            msg = (
                f"Explanation.edge: expected [num_edges, {2 * self.node.shape[1]}], "
                f"got shape {tuple(self.edge.shape)}"
            )
            raise ValueError(msg)
        if self.edge_significance is not None:
            if self.edge_significance.dim() != 1:
                msg = (
                    f"Explanation.edge_significance: expected [num_edges], "
                    f"got shape {tuple(self.edge_significance.shape)}"
                )
                raise ValueError(msg)
            if self.edge is not None and self.edge_significance.shape[0] != self.edge.shape[0]:
                msg = (
                    f"Explanation.edge_significance: expected {self.edge.shape[0]} edges, "
                    f"got {self.edge_significance.shape[0]}"
                )
                raise ValueError(msg)

    @property
    def num_jets(self) -> int:
        if self.logit is not None:
            return int(self.logit.shape[0])
        return int(self.batch.max()) + 1 if self.batch.numel() else 0


def track_scores(explanation: Explanation) -> Tensor:
    """``[num_tracks]`` one score per track: the sum over its features of ``|relevance|``.

    Magnitudes, so that a track whose features push in opposite directions still counts as used; the one
    definition every ranking, plot and metric of tracks shares.
    """
    return explanation.node.abs().sum(dim=1)


def point_scores(explanation: Explanation, edge_index: Tensor) -> Tensor:
    """``[num_points]`` one score per point of a point cloud: :func:`track_scores` plus half of the
    ``|relevance|`` of the attributes of every edge it is an end of.

    A point cloud's geometry reaches the model as edge attributes (distances and directions between two
    points), which belong to both ends alike; halving keeps the total. Explanations without edge-attribute
    relevance give :func:`track_scores`.

    Args:
        explanation: Any explanation of the batch whose graph is ``edge_index``.
        edge_index: ``[2, num_edges]`` the graph the explained batch carried.
    """
    score = track_scores(explanation)
    if explanation.edge_attr is None:
        return score
    per_edge = explanation.edge_attr.abs().sum(dim=1) / 2
    num_points = score.shape[0]
    ends = scatter(per_edge, edge_index[0], dim=0, dim_size=num_points, reduce="sum")
    return score + ends + scatter(per_edge, edge_index[1], dim=0, dim_size=num_points, reduce="sum")


def feature_shares(explanation: Explanation, *, per_jet: bool = False) -> Tensor:
    """Each feature's share of the total ``|relevance|``.

    Args:
        explanation: Any explanation with per-feature ``node`` relevance.
        per_jet: Shares within each jet (``[num_jets, num_features]``, rows sum to 1) instead of over all
            tracks of the batch (``[num_features]``, sums to 1).
    """
    magnitude = explanation.node.abs()
    if per_jet:
        per_feature = scatter(
            magnitude, explanation.batch, dim=0, dim_size=explanation.num_jets, reduce="sum"
        )
    else:
        per_feature = magnitude.sum(dim=0)
    total = per_feature.sum(dim=-1, keepdim=True)
    return per_feature / torch.where(total > 0, total, torch.ones_like(total))


class Explainer(Protocol):
    """What every registered explainer provides; knobs go to ``__init__``."""

    def explain(self, batch: Batch, *, target: str = "H") -> Explanation: ...


_EXPLAINERS: dict[str, type] = {}
_T = TypeVar("_T", bound=type)


def register_explainer(name: str) -> Callable[[_T], _T]:
    """Class decorator that makes an explainer available by ``name``.

    Raises:
        ValueError: ``name`` is already taken by another class.
    """

    def register(cls: _T) -> _T:
        if name in _EXPLAINERS and _EXPLAINERS[name] is not cls:
            msg = f"explainer name '{name}' is already registered to {_EXPLAINERS[name].__name__}"
            raise ValueError(msg)
        _EXPLAINERS[name] = cls
        return cls

    return register


def explainer_names() -> list[str]:
    """Names of the registered explainers, sorted."""
    return sorted(_EXPLAINERS)


def get_explainer(name: str, model: torch.nn.Module, **options: Any) -> Explainer:
    """Build the explainer registered as ``name`` for ``model``.

    Raises:
        ValueError: no explainer has that name.
    """
    return explainer_class(name)(model, **options)


def explainer_class(name: str) -> type:
    """The class registered as ``name``.

    Raises:
        ValueError: no explainer has that name.
    """
    if name not in _EXPLAINERS:
        msg = f"unknown explainer '{name}' (valid: {', '.join(explainer_names())})"
        raise ValueError(msg)
    return _EXPLAINERS[name]
