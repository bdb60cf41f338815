"""Tracks from a scored hit graph: edge scores, a cut, connected components; timed per stage.

The edge classifier scores every edge of an event's graph; the edges above the cut are joined into track
candidates by connected components (:func:`hepxai.tracking.components.track_candidates`). Truth-CC takes
the graph's true edges instead, the best any edge classifier can do on that graph.

Optionally (``best_neighbours``) each hit keeps, of the edges above the cut, only its best-scoring edge
outwards and its best-scoring edge inwards before the components are formed. A particle's true edges form a
chain (edges run inner → outer, and a particle crosses each layer at most once on its way out: one true
edge out of and one into each hit), so a fake edge that would merge two tracks is dropped wherever the true
edge at that hit scores higher.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models.checkpoint import load_checkpoint
from hepxai.models.registry import GraphModel
from hepxai.tracking.components import track_candidates, truth_cc


@dataclass(frozen=True)
class EventTracks:
    """The track candidates of one event and what making them cost."""

    candidate: np.ndarray  # [num_hits] int64 candidate label per hit
    scores: np.ndarray | None  # [num_edges] edge scores in (0, 1); None for Truth-CC
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds (inference, components)
    memberships: tuple[np.ndarray, np.ndarray] | None = None  # (hit, candidate) pairs where hits are shared
    supernodes: int | None = None  # supernodes a hierarchical model's pooling made (None: no pooling)


def check_model(model: GraphModel, source: str) -> None:
    """Refuse a model that does not score edges.

    Raises:
        InputError: the model's outputs are not one row per edge.
    """
    if model.level != "edge":
        msg = f"{source}: the checkpoint holds a '{model.kind}' model, which scores {model.level}s, not edges"
        raise InputError(msg)


def load_edge_classifier(path: str | Path) -> GraphModel:
    """The model of a checkpoint that scores edges.

    Raises:
        InputError: the checkpoint holds a model of another level.
    """
    model = load_checkpoint(path)
    check_model(model, str(path))
    return model


@torch.no_grad()
def edge_scores(model: GraphModel, event: Data) -> np.ndarray:
    """``[num_edges]`` the model's probability that each edge is true (eval mode)."""
    model.eval()
    parameter = next(model.parameters())
    inputs = event.clone()
    inputs.x = event.x.to(parameter.dtype)
    if getattr(event, "edge_attr", None) is not None:
        inputs.edge_attr = event.edge_attr.to(parameter.dtype)
    return torch.sigmoid(model(inputs).reshape(-1)).double().numpy()


def best_neighbour_edges(
    edge_index: np.ndarray | torch.Tensor, scores: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """``[E]`` bool: the kept edges that are both their source's best kept edge outwards and their target's
    best kept edge inwards (ties to the lower edge index).

    Args:
        edge_index: ``[2, E]`` directed inner → outer.
        scores: ``[E]`` edge scores.
        keep: ``[E]`` bool, the edges above the cut.
    """
    edge_index = np.asarray(edge_index)
    kept = np.flatnonzero(keep)
    order = kept[np.lexsort((kept, -np.asarray(scores)[kept]))]  # best first, ties by index
    best = np.zeros(len(keep), bool)
    best_out = np.zeros(len(keep), bool)
    best_out[order[np.unique(edge_index[0, order], return_index=True)[1]]] = True
    best[order[np.unique(edge_index[1, order], return_index=True)[1]]] = True
    return best & best_out


def reconstruct(model: GraphModel, event: Data, cut: float, *, best_neighbours: bool = False) -> EventTracks:
    """Score the edges of ``event``, keep those above ``cut`` (each hit's best one each way, with
    ``best_neighbours``) and join them into track candidates."""
    start = time.perf_counter()
    scores = edge_scores(model, event)
    middle = time.perf_counter()
    keep = scores > cut
    if best_neighbours:
        keep = best_neighbour_edges(event.edge_index, scores, keep)
    candidate = track_candidates(event.x.shape[0], event.edge_index, keep)
    end = time.perf_counter()
    return EventTracks(candidate, scores, {"inference": middle - start, "components": end - middle})


def truth_tracks(event: Data) -> EventTracks:
    """Truth-CC: the connected components of the graph's true edges (``y``)."""
    start = time.perf_counter()
    candidate = truth_cc(event.x.shape[0], event.edge_index, event.y)
    return EventTracks(candidate, None, {"components": time.perf_counter() - start})
