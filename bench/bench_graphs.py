"""kNN graph building: this project's search against scipy's KD-tree, one graph at a time.

    python bench/bench_graphs.py [--threads 1] [--repeats 5] [--k 5] [--dense-max 3000]

For point clouds of several sizes (many small clouds to one large one; uniform points in the unit cube,
seeded), prints the median time of :func:`hepxai.data.graphs.knn_edge_index` (with self loops; clouds of
more than ``KD_TREE_MIN_POINTS`` points go to its KD-tree path), of its dense-block search alone (clouds of
at most ``--dense-max`` points; it is quadratic) and of a plain ``scipy.spatial.cKDTree`` query per graph
that builds the same edges, after one warm-up, and the ratio hepxai / kd-tree.
All edge lists are checked equal first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.data import graphs
from hepxai.data.graphs import knn_edge_index

CASES = [(1000, 30), (100, 300), (10, 1000), (1, 3000), (1, 10000)]  # (clouds, points per cloud)


def kdtree_edges(pos: np.ndarray, counts: list[int], k: int) -> torch.Tensor:
    """The same graph from a KD-tree per cloud: k nearest others and a self loop, by (target, source)."""
    sources, targets, start = [], [], 0
    for count in counts:
        points = pos[start : start + count]
        _, neighbours = cKDTree(points).query(points, k=min(k + 1, count))
        neighbours = neighbours.reshape(count, -1)
        target = np.repeat(np.arange(count), neighbours.shape[1])
        source = neighbours.ravel()
        keep = source != target
        sources += [source[keep] + start, np.arange(count) + start]
        targets += [target[keep] + start, np.arange(count) + start]
        start += count
    source, target = np.concatenate(sources), np.concatenate(targets)
    order = np.lexsort((source, target))
    return torch.from_numpy(np.stack([source[order], target[order]]))


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--dense-max", type=int, default=3000, help="time the dense search up to this size")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"k = {args.k} (+ self loop), {args.threads} thread(s), median of {args.repeats}")
    header = (
        ("clouds", 7),
        ("points", 7),
        ("edges", 9),
        ("hepxai ms", 10),
        ("dense ms", 10),
        ("kd-tree ms", 11),
        ("ratio", 8),
    )
    print(" ".join(f"{name:>{width}}" for name, width in header))
    for num_clouds, num_points in CASES:
        rng = np.random.default_rng(0)
        pos = rng.uniform(size=(num_clouds * num_points, 3)).astype(np.float32)
        pos_t = torch.from_numpy(pos)
        batch = torch.repeat_interleave(torch.arange(num_clouds), num_points)
        counts = [num_points] * num_clouds
        ours = knn_edge_index(pos_t, batch, args.k, loop=True)
        if not torch.equal(ours, kdtree_edges(pos, counts, args.k)):
            msg = f"edges differ for {num_clouds} clouds of {num_points} points"
            raise SystemExit(msg)
        hepxai_s = median_seconds(lambda: knn_edge_index(pos_t, batch, args.k, loop=True), args.repeats)  # noqa: B023
        kdtree_s = median_seconds(lambda: kdtree_edges(pos, counts, args.k), args.repeats)  # noqa: B023
        dense = "-"
        if num_points <= args.dense_max:
            tree_min_points, graphs.KD_TREE_MIN_POINTS = graphs.KD_TREE_MIN_POINTS, 10**12
            if not torch.equal(knn_edge_index(pos_t, batch, args.k, loop=True), ours):
                msg = f"dense edges differ for {num_clouds} clouds of {num_points} points"
                raise SystemExit(msg)
            dense_s = median_seconds(lambda: knn_edge_index(pos_t, batch, args.k, loop=True), args.repeats)  # noqa: B023
            graphs.KD_TREE_MIN_POINTS = tree_min_points
            dense = f"{1e3 * dense_s:.1f}"
        print(
            f"{num_clouds:>7} {num_points:>7} {ours.shape[1]:>9} {1e3 * hepxai_s:>10.1f} {dense:>10} "
            f"{1e3 * kdtree_s:>11.1f} {hepxai_s / kdtree_s:>7.2f}x"
        )


if __name__ == "__main__":
    main()
