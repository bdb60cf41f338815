"""``nn.Dropout`` against :class:`hepxai.models.dropout.Dropout`: the dropout alone, and DGCNN training steps.

    nice -n 10 python bench/bench_dropout.py [--graphs 128] [--repeats 15] [--threads 1]

A DGCNN of the LRI paper's size (hidden 64, 4 layers, dropout 0.2) on one batch of synthetic point clouds
(``--graphs`` clouds of 20–40 points, about SynMol's points per batch), forward + backward + Adam
step, once with every dropout module swapped for ``nn.Dropout`` and once with the project's. The two are
timed interleaved in one run; prints medians and their ratio, and the load average, since the machine may
be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.data.graph_list import GraphList
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.models import DGCNN
from hepxai.models.dropout import Dropout


def with_dropout(model: nn.Module, kind: type[nn.Dropout]) -> nn.Module:
    """``model`` with every dropout module replaced by ``kind`` of the same rate."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Dropout):
                setattr(module, name, kind(child.p))
    return model


def step_seconds(model: Callable[[object], Tensor], batch, optimiser: torch.optim.Optimizer) -> float:
    """Seconds of one training step (forward with ``model``, a module or a forward method, backward, step)."""
    start = time.perf_counter()
    optimiser.zero_grad()
    model(batch)[:, 0].square().mean().backward()
    optimiser.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graphs", type=int, default=128, help="clouds per batch")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch = GraphList.of(synthetic_point_clouds(args.graphs, seed=0)).to_batch()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {batch.num_nodes} points, {args.graphs} clouds")

    messages = torch.randn(batch.num_nodes * 6, 64)  # about the edge messages of one EdgeConv
    alone = {nn.Dropout: [], Dropout: []}
    steps = {nn.Dropout: [], Dropout: []}
    models = {}
    for kind in (nn.Dropout, Dropout):
        model = with_dropout(DGCNN(num_features=batch.num_features, hidden=64), kind).train()
        models[kind] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))
        step_seconds(model, batch, models[kind][1])  # warm-up
    for _ in range(args.repeats):
        for kind in (nn.Dropout, Dropout):
            start = time.perf_counter()
            kind(0.2).train()(messages)
            alone[kind].append(time.perf_counter() - start)
            model, optimiser = models[kind]
            steps[kind].append(step_seconds(model, batch, optimiser))
    print(f"{'':30s} {'nn.Dropout ms':>14s} {'Dropout ms':>11s} {'ratio':>6s}")
    for label, table in ((f"dropout of {messages.shape[0]}x64", alone), ("DGCNN training step", steps)):
        reference, ours = (statistics.median(table[kind]) * 1e3 for kind in (nn.Dropout, Dropout))
        print(f"{label:30s} {reference:14.2f} {ours:11.2f} {reference / ours:6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
