"""DGCNN training steps: the plain ``forward`` against ``fast_forward`` (first Linear per point), in one run.

    nice -n 10 python bench/bench_dgcnn_train.py [--graphs 128] [--k 5 10] [--repeats 9] [--threads 1]

A DGCNN of the LRI paper's size (hidden 64, 4 layers, dropout 0.2) on one batch of synthetic point clouds,
forward + backward + Adam step with each forward, timed interleaved (one step of each per round), for each
``--k`` of the kNN graph that the model builds from the points' positions (5: the backbone's graph; 10:
the graph LRI-Gaussian rebuilds), which both forwards build alike. Prints medians,
their ratio and the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_dropout import step_seconds
from hepxai.data.graph_list import GraphList
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.models import DGCNN


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graphs", type=int, default=128, help="clouds per batch")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10], help="neighbours of the kNN graph")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = GraphList.of(synthetic_point_clouds(args.graphs, seed=0)).to_batch()
    batch.edge_index = batch.edge_attr = None  # the model builds its kNN graph of ``pos``, as in LRI runs
    print(f"load average before: {os.getloadavg()[0]:.2f}; {batch.num_nodes} points, {args.graphs} clouds")
    print(f"{'k':>3s} {'forward ms':>11s} {'fast_forward ms':>16s} {'ratio':>6s}")
    for k in args.k:
        torch.manual_seed(0)
        model = DGCNN(num_features=batch.num_features, hidden=64, k=k).train()
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        forwards = {"forward": model, "fast_forward": model.fast_forward}
        times: dict[str, list[float]] = {name: [] for name in forwards}
        for forward in forwards.values():
            step_seconds(forward, batch, optimiser)  # warm-up
        for _ in range(args.repeats):
            for name, forward in forwards.items():
                times[name].append(step_seconds(forward, batch, optimiser))
        plain, fast = (statistics.median(times[name]) * 1e3 for name in forwards)
        print(f"{k:3d} {plain:11.1f} {fast:16.1f} {plain / fast:6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
