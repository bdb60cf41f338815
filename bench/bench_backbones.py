"""Seconds per training epoch of the LRI backbones on a point-set dataset, and the validation AUC they reach.

    nice -n 10 python bench/bench_backbones.py --data /work/data/lri/actstrack [--backbones dgcnn egnn
        point_transformer] [--epochs 3] [--threads 2] [--seed 0]

For each backbone (the LRI paper's configuration: 4 layers, hidden 64, dropout 0.2, sum pooling, head
64 → 128 → 64 → 1, the kNN graph of ``pos`` with k = 5 plus self loops built in every forward pass): trains
on the ``train`` split with Adam (lr 1e-3, weight decay 1e-5, batch 128, binary cross-entropy), the paper's
optimiser, and after every epoch scores the ``valid`` split. Prints the median and each epoch's seconds
(training passes only), the validation prediction AUC after each epoch, and the machine's load average
before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch_geometric.data import Batch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.data.pointsets.store import load_pointset
from hepxai.models import build_model


def epoch(model, graphs, optimiser, batch_size: int, rng: np.random.Generator) -> float:
    """One pass over ``graphs`` in a random order; returns its seconds."""
    model.train()
    loss_function = torch.nn.BCEWithLogitsLoss()
    order = rng.permutation(len(graphs))
    start = time.perf_counter()
    for first in range(0, len(order), batch_size):
        batch = Batch.from_data_list([graphs[i] for i in order[first : first + batch_size]])
        optimiser.zero_grad()
        loss = loss_function(model(batch)[:, 0], batch.y.float())
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


@torch.no_grad()
def validation_auc(model, graphs, batch_size: int = 512) -> float:
    model.eval()
    scores, labels = [], []
    for first in range(0, len(graphs), batch_size):
        batch = Batch.from_data_list(list(graphs[first : first + batch_size]))
        scores.append(model(batch)[:, 0])
        labels.append(batch.y)
    return float(roc_auc_score(torch.cat(labels).numpy(), torch.cat(scores).numpy()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a point-set dataset folder")
    parser.add_argument("--backbones", nargs="+", default=["dgcnn", "egnn", "point_transformer"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, valid = (load_pointset(args.data, split).graphs for split in ("train", "valid"))
    print(f"{args.data}: {len(train)} training and {len(valid)} validation samples; threads {args.threads}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'backbone':<18} {'s/epoch':>8}  {'epochs (s)':<30} validation AUC per epoch")
    for kind in args.backbones:
        torch.manual_seed(args.seed)
        model = build_model(kind, num_features=int(train[0].x.shape[1]))
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
        rng = np.random.default_rng(args.seed)
        seconds, aucs = [], []
        for _ in range(args.epochs):
            seconds.append(epoch(model, train, optimiser, 128, rng))
            aucs.append(validation_auc(model, valid))
        times, scores = " ".join(f"{s:.1f}" for s in seconds), " ".join(f"{a:.3f}" for a in aucs)
        print(f"{kind:<18} {statistics.median(seconds):>8.1f}  {times:<30} {scores}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
