"""The slides' "inefficient graph": every input-graph edge dropped with a probability, at test time.

A graph builder that misses edges breaks tracks; a chain that reconnects them (the hierarchical GNN,
through its supernodes) should lose less than one that only follows edges (the edge classifier and
Truth-CC). The drop is drawn from ``(seed, event id)``, so every chain sees the same edges of an event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError

EDGE_FIELDS = ("edge_index", "edge_attr", "y")
"""Fields with one entry per edge (``edge_index`` along its second axis)."""


def drop_edges(event: Data, probability: float, seed: int = 0) -> Data:
    """A copy of ``event`` without each edge independently with ``probability`` (``event`` itself at 0).

    Raises:
        InputError: ``probability`` outside [0, 1).
    """
    if not 0 <= probability < 1:
        msg = f"edge drop: the probability must be in [0, 1) (got {probability})"
        raise InputError(msg)
    if probability == 0:
        return event
    rng = np.random.default_rng([seed, int(event.event_id.reshape(-1)[0])])
    keep = torch.from_numpy(rng.random(event.edge_index.shape[1]) >= probability)
    dropped = event.clone()
    dropped.edge_index = event.edge_index[:, keep]
    for name in EDGE_FIELDS[1:]:
        value = getattr(event, name, None)
        if value is not None:
            setattr(dropped, name, value[keep])
    return dropped


@dataclass(frozen=True)
class DroppedEdges:
    """``events`` read lazily, each with its edges dropped (:func:`drop_edges`); iterable many times."""

    events: Sequence[Data]
    probability: float
    seed: int = 0

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Data]:
        return (drop_edges(event, self.probability, self.seed) for event in self.events)
