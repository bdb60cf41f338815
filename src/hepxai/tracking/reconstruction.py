"""Tracks from a scored hit graph: edge scores, a cut, connected components; timed per stage.

The edge classifier scores every edge of an event's graph; the edges above the cut are joined into track
candidates by connected components (:func:`hepxai.tracking.components.track_candidates`). Truth-CC takes
the graph's true edges instead, the best any edge classifier can do on that graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models.registry import GraphModel
from hepxai.tracking.components import track_candidates, truth_cc


@dataclass(frozen=True)
class EventTracks:
    """The track candidates of one event and what making them cost."""

    candidate: np.ndarray  # [num_hits] int64 candidate label per hit
    scores: np.ndarray | None  # [num_edges] edge scores in (0, 1); None for Truth-CC
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds (inference, components)


def check_model(model: GraphModel, source: str) -> None:
    """Refuse a model that does not score edges.

    Raises:
        InputError: the model's outputs are not one row per edge.
    """
    if model.level != "edge":
        msg = f"{source}: a {model.kind} checkpoint scores {model.level}s, not edges (an edge classifier)"
        raise InputError(msg)


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


def reconstruct(model: GraphModel, event: Data, cut: float) -> EventTracks:
    """Score the edges of ``event``, keep those above ``cut`` and join them into track candidates."""
    start = time.perf_counter()
    scores = edge_scores(model, event)
    middle = time.perf_counter()
    candidate = track_candidates(event.x.shape[0], event.edge_index, scores > cut)
    end = time.perf_counter()
    return EventTracks(candidate, scores, {"inference": middle - start, "components": end - middle})


def truth_tracks(event: Data) -> EventTracks:
    """Truth-CC: the connected components of the graph's true edges (``y``)."""
    start = time.perf_counter()
    candidate = truth_cc(event.x.shape[0], event.edge_index, event.y)
    return EventTracks(candidate, None, {"components": time.perf_counter() - start})
