"""Tiny tracking events for the tests: straight tracks through a few barrel layers, true and fake edges."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch_geometric.data import Data

LAYERS = np.array([30.0, 70.0, 120.0, 170.0, 260.0, 360.0, 500.0])  # mm


def toy_event(
    seed: int = 0,
    *,
    num_particles: int = 6,
    fakes_per_hit: float = 1.5,
    noise_hits: int = 3,
    event_id: int = 0,
) -> Data:
    """Particles from the origin crossing every layer on a straight line (with small jitter), plus noise.

    Edges: every consecutive pair of a particle (true) and random pairs of hits on adjacent layers (fake),
    oriented inner → outer, each pair once. Fields follow the tracking graph contract.
    """
    rng = np.random.default_rng(seed)
    phi0 = rng.uniform(-math.pi, math.pi, num_particles)
    eta = rng.uniform(-1.5, 1.5, num_particles)
    pt = rng.uniform(1.5, 20.0, num_particles)
    rows = []
    for particle in range(num_particles):
        for order, radius in enumerate(LAYERS):
            phi = phi0[particle] + 0.3 * radius / 1000 / pt[particle] + rng.normal(0, 1e-3)
            z = radius * math.sinh(eta[particle])
            rows.append((particle + 1, order, radius, phi, z))
    for _ in range(noise_hits):
        rows.append((0, -1, rng.choice(LAYERS), rng.uniform(-math.pi, math.pi), rng.uniform(-500, 500)))
    rows = [rows[i] for i in rng.permutation(len(rows))]
    particle_id = np.array([row[0] for row in rows], np.int64)
    hit_order = np.array([row[1] for row in rows], np.int64)
    radius, phi, z = (np.array([row[k] for row in rows], np.float64) for k in (2, 3, 4))
    phi = (phi + math.pi) % (2 * math.pi) - math.pi
    layer = np.searchsorted(LAYERS, radius)
    true_pairs = {
        (a, b)
        for a in range(len(rows))
        for b in range(len(rows))
        if particle_id[a] != 0 and particle_id[a] == particle_id[b] and hit_order[b] == hit_order[a] + 1
    }
    pairs = set(true_pairs)
    adjacent = [(a, b) for a in range(len(rows)) for b in range(len(rows)) if layer[b] == layer[a] + 1]
    for k in rng.choice(len(adjacent), size=int(fakes_per_hit * len(rows)), replace=False):
        pairs.add(adjacent[k])
    edge_index = np.array(sorted(pairs), np.int64).T
    x = np.stack([radius / 1000, phi / math.pi, z / 1000], axis=1)
    source, target = edge_index
    theta = np.arctan2(radius, z)
    hit_eta = -np.log(np.tan(theta / 2))
    dphi = (x[target, 1] - x[source, 1] + 1) % 2 - 1
    deta = hit_eta[target] - hit_eta[source]
    edge_attr = np.stack(
        [
            x[target, 0] - x[source, 0],
            dphi,
            x[target, 2] - x[source, 2],
            deta,
            np.hypot(deta, dphi * math.pi),
        ],
        axis=1,
    )
    y = np.array([(a, b) in true_pairs for a, b in edge_index.T], np.float32)
    nhits = np.bincount(particle_id, minlength=num_particles + 1)
    weight = np.where(particle_id > 0, 1.0, 0.0)
    return Data(
        x=torch.tensor(x, dtype=torch.float32),
        pos=torch.tensor(np.stack([radius * np.cos(phi), radius * np.sin(phi), z], 1), dtype=torch.float32),
        hit_id=torch.arange(1, len(rows) + 1),
        edge_index=torch.tensor(edge_index),
        edge_attr=torch.tensor(edge_attr, dtype=torch.float32),
        y=torch.tensor(y),
        particle_id=torch.tensor(particle_id),
        hit_order=torch.tensor(hit_order),
        particle_pt=torch.tensor(np.r_[0.0, pt][particle_id], dtype=torch.float32),
        particle_eta=torch.tensor(np.r_[0.0, eta][particle_id], dtype=torch.float32),
        particle_nhits=torch.tensor(np.where(particle_id > 0, nhits[particle_id], 0)),
        weight=torch.tensor(weight / weight.sum(), dtype=torch.float32),
        num_true_edges=torch.tensor([len(true_pairs)]),
        event_id=torch.tensor([event_id]),
    )
