"""Edge classifier cost per event: training step, inference, connected components, LRP of one edge.

    python bench/bench_edge_classifier.py --graph GRAPH.pt [--sizes 32x6 64x6] [--threads 1 2] [--repeats 3]

One event's graph (a file of ``hepxai tracking graphs``), seeded random weights, medians over ``--repeats``
after one warm-up, all sizes and thread counts measured side by side in this run. Columns: ``step`` is one
optimiser step (forward, weighted BCE, backward, Adam), ``infer`` the eval-mode forward, ``cc`` the
connected components of the edges above 0.5, ``lrp`` LRP-ε of one edge's logit over the whole event,
``g×i`` gradient × input of the same edge; ``vs 1 thread`` compares the step with the first thread count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch_geometric.data import Data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.explain.edge_relevance import explain_edge
from hepxai.models import EdgeClassifier
from hepxai.tracking.components import track_candidates
from hepxai.tracking.edge_training import edge_loss
from hepxai.tracking.event_graph import read_graph


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(event: Data, edge: int, hidden: int, iterations: int, threads: int, repeats: int) -> list[float]:
    """Median seconds of a training step, inference, components, LRP and gradient × input of one edge."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = EdgeClassifier(event.x.shape[1], event.edge_attr.shape[1], hidden, iterations)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        model.train()
        loss = edge_loss(model(event), event.y, 2.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer() -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return torch.sigmoid(model(event)[:, 0])

    keep = infer() > 0.5
    return [
        median_seconds(step, repeats),
        median_seconds(infer, repeats),
        median_seconds(lambda: track_candidates(event.num_nodes, event.edge_index, keep), repeats),
        median_seconds(lambda: explain_edge(model, event, edge), repeats),
        median_seconds(lambda: explain_edge(model, event, edge, method="gradient_x_input"), repeats),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graph", type=Path, required=True, help="one graph file (eventNNNNNNNNN.pt)")
    parser.add_argument("--sizes", nargs="+", default=["32x6", "64x6"], help="HIDDENxITERATIONS")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    event = read_graph(args.graph)
    edge = int(torch.nonzero(event.y > 0.5)[0])
    print(f"{args.graph.name}: {event.num_nodes} hits, {event.edge_index.shape[1]} edges")
    header = ("size", "threads", "step s", "infer s", "cc s", "lrp s", "g×i s", "step vs first")
    print(" ".join(f"{name:>8}" for name in header))
    for size in args.sizes:
        hidden, iterations = (int(part) for part in size.split("x"))
        reference = None
        for threads in args.threads:
            row = measure(event, edge, hidden, iterations, threads, args.repeats)
            reference = row[0] if reference is None else reference
            cells = [
                f"{size:>8}",
                f"{threads:>8}",
                *(f"{value:8.3f}" for value in row),
                f"{reference / row[0]:7.2f}x",
            ]
            print(" ".join(cells))


if __name__ == "__main__":
    main()
