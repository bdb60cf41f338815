"""What the relevant walks of signal jets are made of: self walks, and b-hadron senders and receivers.

    python bench/walk_composition.py --model CKPT --data FILE [--jets 300] [--top 3] [--target H]

LRP-ε of ``--target`` on the first ``--jets`` signal jets (files with ``track_fromB``); prints the share of
``|R|`` in self walks, how many of each jet's top walks are self walks, and for the top walks ``i → j`` with
``i ≠ j`` how often sender and receiver descend from a b hadron, against chance for the receiver.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch_geometric.utils import scatter

from hepxai.benchmark import read_signal_jets
from hepxai.explain import LRP
from hepxai.explain.walks import relevant_walks, top_walks
from hepxai.models import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--jets", type=int, default=300)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--target", default="H")
    args = parser.parse_args()
    model = load_checkpoint(args.model)
    jets = read_signal_jets([args.data], max_jets=args.jets, progress=False)
    truth = torch.from_numpy(jets.track_truth["track_fromB"]).bool()
    batch = jets.to_batch()
    explanation = LRP(model).explain(batch, target=args.target)
    walks = relevant_walks(model, explanation, batch.edge_index)
    is_self = walks.source == walks.target
    magnitude = walks.relevance.abs()
    self_share = scatter(magnitude * is_self, walks.batch, reduce="sum") / scatter(magnitude, walks.batch)
    print(f"share of |R| in self walks (mean over jets): {float(self_share.mean()):.3f}")
    top, _ = top_walks(walks, args.top)
    self_top = float((top.source == top.target).double().mean())
    print(f"self walks among each jet's top {args.top} walks: {self_top:.3f}")
    top, _ = top_walks(walks.select(~is_self), args.top)
    sender, receiver = truth[top.source], truth[top.target]
    print(
        f"top {args.top} walks i != j: sender from b {float(sender.double().mean()):.3f}, receiver from b "
        f"{float(receiver.double().mean()):.3f}, both {float((sender & receiver).double().mean()):.3f}"
    )
    counts = torch.bincount(batch.batch).double()
    b_counts = torch.bincount(batch.batch, weights=truth.double())
    jet = top.batch[sender]
    chance = ((b_counts[jet] - 1) / (counts[jet] - 1)).mean()
    print(
        f"receiver from b when the sender is: {float(receiver[sender].double().mean()):.3f}, "
        f"chance (n_b - 1) / (n - 1): {float(chance):.3f}"
    )


if __name__ == "__main__":
    main()
