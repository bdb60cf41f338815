"""Seconds per training step of the Embedding IN and the hierarchical GNNs at several widths.

    python bench/bench_hgnn_step.py [--particles 1000] [--latents 32 64 128] [--repeats 3] [--threads 1]

One synthetic event of realistic size (default: 1 000 helices through 10 barrel layers plus 5% noise,
about 10k hits; edges to the 8 nearest hits in (φ, η) on the next layer, about 80k), seeded random weights.
A step is one optimiser step as the training job takes it (objective forward with its pairs and, for the
bipartite model, the supernode–particle matching; backward; Adam). The configurations run round-robin,
one warm-up each, then ``--repeats`` rounds; the median is reported with the supernode count.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch_geometric.data import Data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.models import build_model
from hepxai.tracking.event_graph import edge_features, edge_truth
from hepxai.tracking.hgnn_training import HierarchicalModelConfig, HierarchicalRunConfig, objective_for

LAYERS = np.array([32.0, 72.0, 116.0, 172.0, 260.0, 360.0, 500.0, 660.0, 820.0, 1020.0])  # mm
NEIGHBOURS = 8


def synthetic_event(num_particles: int, seed: int = 0, noise_fraction: float = 0.05) -> Data:
    """Helices from the origin through every layer (pT 0.5–10 GeV, |η| < 2.5, 2 T), plus noise hits."""
    rng = np.random.default_rng(seed)
    phi0 = rng.uniform(-math.pi, math.pi, num_particles)
    eta = rng.uniform(-2.5, 2.5, num_particles)
    pt = 1 / rng.uniform(0.1, 2.0, num_particles)  # GeV, flat in curvature
    radius = np.tile(LAYERS, num_particles)
    particle = np.repeat(np.arange(1, num_particles + 1), len(LAYERS))
    order = np.tile(np.arange(len(LAYERS)), num_particles)
    bend = np.arcsin(np.clip(0.3 * 2.0 * radius / 1000 / (2 * pt[particle - 1]), -1, 1))
    phi = phi0[particle - 1] + bend + rng.normal(0, 2e-4, len(radius))
    z = radius * np.sinh(eta[particle - 1])
    num_noise = int(noise_fraction * len(radius))
    radius = np.concatenate([radius, rng.choice(LAYERS, num_noise)])
    phi = np.concatenate([phi, rng.uniform(-math.pi, math.pi, num_noise)])
    z = np.concatenate([z, rng.uniform(-2000, 2000, num_noise)])
    particle = np.concatenate([particle, np.zeros(num_noise, np.int64)])
    order = np.concatenate([order, -np.ones(num_noise, np.int64)])
    phi = (phi + math.pi) % (2 * math.pi) - math.pi
    hit_eta = np.arcsinh(z / radius)
    layer = np.searchsorted(LAYERS, radius)
    edges = []
    for inner in range(len(LAYERS) - 1):
        source, target = np.flatnonzero(layer == inner), np.flatnonzero(layer == inner + 1)
        points = np.stack([phi, hit_eta], 1)
        _, nearest = cKDTree(points[target]).query(points[source], k=NEIGHBOURS)
        edges.append(np.stack([np.repeat(source, NEIGHBOURS), target[nearest.reshape(-1)]]))
    edge_index = np.concatenate(edges, 1)
    x = np.stack([radius / 1000, phi / math.pi, z / 1000], 1).astype(np.float32)
    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(edge_index),
        edge_attr=torch.from_numpy(edge_features(x, edge_index).astype(np.float32)),
        y=torch.from_numpy(edge_truth(particle, order, edge_index).astype(np.float32)),
        particle_id=torch.from_numpy(particle),
        event_id=torch.tensor([seed]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--latents", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--kinds", nargs="+", default=["embedding_in", "hgnn_embedding", "hgnn_bipartite"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    event = synthetic_event(args.particles)
    num_edges, true_edges = event.edge_index.shape[1], int(event.y.sum())
    print(f"event: {event.x.shape[0]} hits, {num_edges} edges ({true_edges} true), {args.threads} threads")
    runs = {}
    for kind in args.kinds:
        for latent in args.latents:
            torch.manual_seed(0)
            model_config = HierarchicalModelConfig.for_kind(kind, latent=latent)
            model = build_model(kind, **model_config.arguments(3, event.edge_attr.shape[1]))
            objective = objective_for(HierarchicalRunConfig(model=model_config))
            runs[kind, latent] = (model, objective, torch.optim.Adam(model.parameters(), lr=1e-3), [])
    for round_number in range(args.repeats + 1):
        for model, objective, optimizer, seconds in runs.values():
            start = time.perf_counter()
            loss = objective(model, event, 100).mean()  # epoch 100: past the training wheel
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if round_number > 0:
                seconds.append(time.perf_counter() - start)
    print(f"{'model':<16}{'latent':>7}{'parameters':>12}{'supernodes':>12}{'s / step':>10}")
    for (kind, latent), (model, _, _, seconds) in runs.items():
        parameters = sum(parameter.numel() for parameter in model.parameters())
        supernodes = model.outputs(event).hierarchy.num_supernodes if kind != "embedding_in" else "-"
        print(f"{kind:<16}{latent:>7}{parameters:>12}{supernodes!s:>12}{statistics.median(seconds):>10.2f}")


if __name__ == "__main__":
    main()
