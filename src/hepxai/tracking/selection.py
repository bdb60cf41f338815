"""Which particle, edge or hit–supernode assignment of an event to show or explain, when the user names none.

The default particle is the event's reconstructable particle (the setting's definition: more than
``min_hits`` hits, pT above ``pt_min``) with the most fake edges touching its hits: where the classifier has
the most to get wrong. The default edge is that particle's true edge with the lowest score: the one the
classifier is least sure of. The bipartite HGNN's default assignment is the highest-scoring one of the
middle hit (along its path) of the event's longest reconstructable particle: a decision inside a long
track, where the hierarchy has the most hits to pool.
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


def choose_assignment(
    event: Data,
    setting: Setting,
    assignment_index: np.ndarray,
    scores: np.ndarray,
    *,
    assignment: int | None = None,
    hit_id: int | None = None,
    source: str | Path,
) -> int:
    """``assignment`` if the model made it; else the highest-scoring assignment of the hit ``hit_id``; else
    that of the middle hit (``hit_order``) of the reconstructable particle with the most hits (ties to the
    lower id).

    Args:
        event: The graph with ``hit_id``, ``particle_id``, ``hit_order``, ``particle_nhits``, ``particle_pt``.
        setting: Says which particles are reconstructable.
        assignment_index: ``[2, A]`` the model's (hit row, supernode) edges.
        scores: ``[A]`` their scores.
        assignment: A column of ``assignment_index``.
        hit_id: A hit of the event (its ``hit_id``).
        source: Names the event in messages.

    Raises:
        InputError: the model made no assignment edge (no supernodes), ``assignment`` is not one, the hit
            is not in the event, or no particle is reconstructable.
    """
    count = assignment_index.shape[1]
    if count == 0:
        msg = f"{source}: the model made no supernodes in this event: no assignment to explain"
        raise InputError(msg)
    if assignment is not None:
        if not 0 <= assignment < count:
            msg = f"{source}: no assignment {assignment} (the model made {count}: hit-major, c per hit)"
            raise InputError(msg)
        return assignment
    if hit_id is not None:
        (rows,) = np.nonzero(event.hit_id.numpy() == hit_id)
        if len(rows) == 0:
            msg = f"{source}: field 'hit_id': no hit {hit_id} in this event"
            raise InputError(msg)
        row = int(rows[0])
    else:
        row = _middle_hit_of_longest_particle(event, setting, source)
    (mine,) = np.nonzero(assignment_index[0] == row)
    return int(mine[np.argmax(np.asarray(scores)[mine])])


def _middle_hit_of_longest_particle(event: Data, setting: Setting, source: str | Path) -> int:
    particle_id = event.particle_id.numpy()
    nhits = event.particle_nhits.numpy()
    reconstructable = (particle_id != 0) & is_reconstructable(
        nhits, event.particle_pt.numpy(), pt_min=setting.pt_min, min_hits=setting.min_hits
    )
    if not reconstructable.any():
        msg = f"{source}: field 'particle_id': no reconstructable particle to explain"
        raise InputError(msg)
    longest = int(nhits[reconstructable].max())
    particle = int(particle_id[reconstructable & (nhits == longest)].min())
    (hits,) = np.nonzero(particle_id == particle)
    order = event.hit_order.numpy()[hits]
    return int(hits[np.argsort(order, kind="stable")[len(hits) // 2]])
