"""A TrackML event as a PyG ``Data``: hit positions for point-cloud and tracking models, per-hit truth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from hepxai.data.detector.propagation import rank_within
from hepxai.data.detector.trackml_io import TrackMLEvent, read_events

MUON_ID = 13


def event_to_data(event: TrackMLEvent) -> Data:
    """The hits of ``event`` as a graph without edges (a graph builder adds them).

    Fields: ``pos [hits, 3]`` (x, y, z in mm, float32), ``hit_id``, ``volume_id``, ``layer_id``,
    ``module_id``, and with truth ``particle_id`` (0 = noise), ``hit_order`` (position along the particle,
    -1 for noise) and ``node_truth`` (bool: a hit of a muon from the Z boson). Files without ``hit_order``
    (real TrackML events) get it from the distance of each true hit position to the particle's vertex, which
    orders the hits of a particle on its way out. ``event_id`` is a graph-level field.
    """
    hits = event.hits
    data = Data(
        pos=torch.tensor(hits[["x", "y", "z"]].to_numpy(np.float32)),
        hit_id=_long(hits["hit_id"]),
        volume_id=_long(hits["volume_id"]),
        layer_id=_long(hits["layer_id"]),
        module_id=_long(hits["module_id"]),
        event_id=torch.tensor([event.event_id]),
    )
    if event.truth is None:
        return data
    truth = hits[["hit_id"]].merge(event.truth, on="hit_id", how="left", validate="one_to_one")
    particle_id = truth["particle_id"].fillna(0).to_numpy(np.int64)
    data.particle_id = torch.tensor(particle_id)
    data.hit_order = torch.tensor(_hit_order(truth, event.particles))
    z_muons = np.zeros(0, np.int64)
    if event.particles is not None and "from_z" in event.particles:
        particles = event.particles
        chosen = (particles["from_z"] == 1) & (particles["particle_type"].abs() == MUON_ID)
        z_muons = particles.loc[chosen, "particle_id"].to_numpy(np.int64)
    data.node_truth = torch.tensor(np.isin(particle_id, z_muons) & (particle_id != 0))
    return data


def read_data(path: str | Path, event_ids: list[int] | None = None) -> Iterator[Data]:
    """The events under ``path`` (a folder, an HDF5 file or a CSV prefix) as ``Data``, one at a time."""
    for event in read_events(path, event_ids):
        yield event_to_data(event)


def _hit_order(truth: pd.DataFrame, particles: pd.DataFrame | None) -> np.ndarray:
    if "hit_order" in truth:
        return truth["hit_order"].fillna(-1).to_numpy(np.int64)
    particle_id = truth["particle_id"].fillna(0).to_numpy(np.int64)
    position = truth[["tx", "ty", "tz"]].to_numpy(np.float64)
    vertex = np.zeros_like(position)
    if particles is not None:
        lookup = particles.set_index("particle_id")[["vx", "vy", "vz"]]
        known = np.isin(particle_id, lookup.index.to_numpy())
        vertex[known] = lookup.loc[particle_id[known]].to_numpy(np.float64)
    distance = np.linalg.norm(position - vertex, axis=1)
    sort = np.lexsort((distance, particle_id))
    order = np.empty(len(sort), np.int64)
    order[sort] = rank_within(particle_id[sort])
    return np.where(particle_id == 0, -1, order)


def _long(column: pd.Series) -> torch.Tensor:
    return torch.tensor(column.to_numpy(np.int64))
