"""Does a hierarchical model learn? Train it on toy events and score its track candidates (docs/tracking.md).

    OMP_NUM_THREADS=1 python bench/bench_hgnn_toy.py [--kind KIND] [--edge-drop P] [--set K=V ...]

The tests' toy events (``tests/tracking/toys.py``: 30 straight particles through 7 layers, 3 fake edges per
hit): 8 training events (seeds 0–7), validation on seed 100, candidates scored on seeds 100–102 (90
particles) with the slides' 50%/50% matching, candidates as sets of hits. Latent 32, 3 flat and 3
hierarchical iterations, lr 2e-3, the training wheel over 10 epochs. ``--set`` changes a model or training
setting (``detach_pooling=false``, ``wheel_floor=0``, ``cut_momentum=0``, ...) for the comparisons there.
``--edge-drop P`` drops each test graph edge with probability P (:mod:`hepxai.tracking.edge_drop`) and
scores Truth-CC on the same graphs. Prints one JSON line: validation AUC, supernodes per test event,
efficiency and purity (and Truth-CC's), seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from hepxai.metrics.tracking import TrackingCounts, match_memberships  # noqa: E402
from hepxai.models.checkpoint import load_checkpoint  # noqa: E402
from hepxai.tracking.clustering import hierarchical_tracks  # noqa: E402
from hepxai.tracking.edge_drop import drop_edges  # noqa: E402
from hepxai.tracking.hgnn_training import (  # noqa: E402
    HierarchicalDataConfig,
    HierarchicalModelConfig,
    HierarchicalRunConfig,
    HierarchicalTrainConfig,
    train_hierarchical,
)
from hepxai.tracking.reconstruction import EventTracks, truth_tracks  # noqa: E402
from tracking.toys import toy_event  # noqa: E402

TRAIN_SEEDS, TEST_SEEDS = range(8), (100, 101, 102)


def _value(text: str) -> object:
    return {"true": True, "false": False}.get(text.lower(), float(text) if "." in text else int(text))


def _candidates(tracks: EventTracks) -> tuple[np.ndarray, np.ndarray]:
    """(hit, candidate) pairs of the tracks: their memberships, or each labelled hit's label."""
    if tracks.memberships is not None:
        return tracks.memberships
    (hit,) = np.nonzero(tracks.candidate >= 0)
    return hit, tracks.candidate[hit]


def evaluate_event(event: Data, hit: np.ndarray, candidate: np.ndarray) -> TrackingCounts:
    """The toy's counts: particles of more than 3 hits above 1 GeV are reconstructable."""
    truth = (event.particle_id.numpy(), event.particle_pt.numpy())
    return match_memberships(hit, candidate, *truth, pt_min=1, min_hits=3).counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="hgnn_bipartite")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--cut", type=float, default=0.5, help="bipartite score cut")
    parser.add_argument("--edge-drop", type=float, default=0.0, help="test-time edge drop")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    changes = {key: _value(value) for key, value in (item.split("=", 1) for item in args.set)}
    train_fields = {field.name for field in dataclasses.fields(HierarchicalTrainConfig)}
    model_changes = {key: value for key, value in changes.items() if key not in train_fields}
    train_changes = {key: value for key, value in changes.items() if key in train_fields}
    torch.set_num_threads(1)

    def event(seed: int):
        return toy_event(seed, num_particles=30, fakes_per_hit=3, event_id=seed)

    config = HierarchicalRunConfig(
        HierarchicalDataConfig("toy"),
        HierarchicalModelConfig.for_kind(
            args.kind, latent=32, iterations=3, hierarchical_iterations=3, **model_changes
        ),
        HierarchicalTrainConfig(
            **{
                "epochs": args.epochs,
                "lr": 2e-3,
                "wheel_epochs": 10,
                "patience": args.epochs,
                **train_changes,
            }
        ),
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = train_hierarchical(
            [event(seed) for seed in TRAIN_SEEDS], [event(TEST_SEEDS[0])], config, folder, progress=False
        )
        model = load_checkpoint(result.last_path)
    seconds = time.perf_counter() - start
    counts = truth_counts = TrackingCounts(0, 0, 0, 0)
    supernodes = []
    for seed in TEST_SEEDS:
        test = drop_edges(event(seed), args.edge_drop)
        counts += evaluate_event(test, *_candidates(hierarchical_tracks(model, test, cut=args.cut)))
        truth_counts += evaluate_event(test, *_candidates(truth_tracks(test)))
        if args.kind != "embedding_in":
            with torch.no_grad():
                supernodes.append(model.outputs(test).hierarchy.num_supernodes)
    record = {
        "kind": args.kind,
        **changes,
        "val_auc": round(result.history[-1].val_auc, 3),
        "supernodes": supernodes,
        "efficiency": round(counts.efficiency, 3),
        "purity": round(counts.purity, 3),
        "matched": counts.matched_reconstructable,
        "edge_drop": args.edge_drop,
        "truth_cc": [round(truth_counts.efficiency, 3), round(truth_counts.purity, 3)],
        "seconds": round(seconds),
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
