"""Which particle and which edge of an event to show or explain, when the user names none.

The default particle is the event's reconstructable particle (the setting's definition: more than
``min_hits`` hits, pT above ``pt_min``) with the most fake edges touching its hits: where the classifier has
the most to get wrong. The default edge is that particle's true edge with the lowest score: the one the
classifier is least sure of.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.metrics.tracking import is_reconstructable
from hepxai.tracking.settings import Setting


def check_edge(event: Data, edge: int, source: str | Path) -> None:
    """Refuse an edge index that is not in the graph.

    Raises:
        InputError: ``edge`` is not a column of ``edge_index``.
    """
    num_edges = event.edge_index.shape[1]
    if not 0 <= edge < num_edges:
        msg = f"{source}: field 'edge_index': no edge {edge} (the graph has {num_edges})"
        raise InputError(msg)


def choose_particle(event: Data, setting: Setting, particle: int | None, source: str | Path) -> int:
    """``particle`` if the event has hits of it; without one, the reconstructable particle with the most fake
    edges touching its hits (ties to the lower id).

    Raises:
        InputError: ``particle`` has no hits, or no reconstructable particle has a fake edge.
    """
    particle_id = event.particle_id.numpy()
    if particle is not None:
        if particle == 0 or particle not in particle_id:
            msg = f"{source}: field 'particle_id': particle {particle} has no hits in this event"
            raise InputError(msg)
        return particle
    reconstructable = (particle_id != 0) & is_reconstructable(
        event.particle_nhits.numpy(),
        event.particle_pt.numpy(),
        pt_min=setting.pt_min,
        min_hits=setting.min_hits,
    )
    fake = event.y.numpy() < 0.5
    touching = event.edge_index.numpy()[:, fake].reshape(-1)
    candidates = particle_id[touching[reconstructable[touching]]]
    if len(candidates) == 0:
        msg = f"{source}: field 'particle_id': no reconstructable particle with fake edges to draw"
        raise InputError(msg)
    ids, counts = np.unique(candidates, return_counts=True)
    return int(ids[np.argmax(counts)])


def choose_edge(event: Data, scores: np.ndarray, particle: int, edge: int | None, source: str | Path) -> int:
    """``edge`` if the graph has it; without one, the lowest-scoring true edge leaving ``particle``'s hits.

    Raises:
        InputError: ``edge`` is not in the graph, or the particle has no true edge.
    """
    if edge is not None:
        check_edge(event, edge, source)
        return edge
    source_particle = event.particle_id.numpy()[event.edge_index.numpy()[0]]
    mine = np.flatnonzero((source_particle == particle) & (event.y.numpy() > 0.5))
    if len(mine) == 0:
        msg = f"{source}: field 'y': particle {particle} has no true edge in the graph"
        raise InputError(msg)
    return int(mine[np.argmin(np.asarray(scores)[mine])])
