"""LRP composites on the generic path against LRP-ε on the HIN's dense path, on the same signal jets.

    python bench/bench_composites.py --model CKPT --data FILE [--jets 100] [--repeats 3] [--threads 1]

Prints the best of ``--repeats`` per method, the methods timed in turn within each round (so that load on a
shared machine hits them alike), and each one's ratio to dense LRP-ε (target H, no edge relevance).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hepxai.benchmark import read_signal_jets
from hepxai.explain import LRP
from hepxai.explain.composites import epsilon_gamma, epsilon_plus
from hepxai.models import load_checkpoint

MESSAGE_LAYERS = ["edge_mlp", "node_mlp_1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--jets", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.model)
    batch = read_signal_jets([args.data], max_jets=args.jets, progress=False).to_batch()
    explainers = {
        "lrp_epsilon (dense)": LRP(model, edges=False),
        "lrp_epsilon (generic)": LRP(model, edges=False, fast=False),
        "lrp_epsilon_gamma (generic)": LRP(model, rules=epsilon_gamma(MESSAGE_LAYERS), edges=False),
        "lrp_epsilon_plus (generic)": LRP(model, rules=epsilon_plus(MESSAGE_LAYERS), edges=False),
    }
    best = dict.fromkeys(explainers, float("inf"))
    for _ in range(args.repeats):
        for name, explainer in explainers.items():
            start = time.perf_counter()
            explainer.explain(batch, target="H")
            best[name] = min(best[name], time.perf_counter() - start)
    baseline = best["lrp_epsilon (dense)"]
    print(f"{'method':30s} {'s/1000 jets':>12s} {'vs dense':>9s}")
    for name, seconds in best.items():
        print(f"{name:30s} {1000 * seconds / args.jets:12.1f} {seconds / baseline:8.1f}x")


if __name__ == "__main__":
    main()
