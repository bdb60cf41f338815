"""Training steps under the CLI's two glibc allocation policies (:func:`hepxai.cli.set_malloc_policy`).

    nice -n 10 python bench/bench_malloc.py [--rounds 3] [--steps 4] [--threads 1]

A DGCNN of the LRI paper's size (hidden 64, 4 layers, dropout 0.2) trains on batches of 128 synthetic point
clouds of 80–140 points (about ActsTrack's 109) with the k = 10 graph that LRI-Gaussian rebuilds, three
batch sizes in turn. Each policy runs in a fresh process (the policy is process-wide), the two alternating
for ``--rounds`` rounds; prints the medians of seconds per step (wall, user, system), minor page faults
per step and peak resident memory, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

POLICIES = ("return", "reuse")


def probe(policy: str, steps: int, threads: int) -> dict[str, float]:
    """Seconds and page faults per training step in this process, under ``policy``."""
    import torch
    from torch_geometric.data import Batch, Data

    from hepxai.cli import set_malloc_policy
    from hepxai.models import DGCNN

    set_malloc_policy(policy)
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    batches = []
    for low in (80, 95, 110):
        sizes = torch.randint(low, low + 30, (128,), generator=generator).tolist()
        clouds = [Data(x=torch.ones(n, 1), pos=torch.randn(n, 3, generator=generator)) for n in sizes]
        batch = Batch.from_data_list(clouds)
        batch.y = torch.randint(0, 2, (128,), generator=generator)
        batches.append(batch)
    torch.manual_seed(0)
    model = DGCNN(num_features=1, hidden=64, k=10).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.BCEWithLogitsLoss()

    def step(number: int) -> None:
        batch = batches[number % len(batches)]
        optimiser.zero_grad()
        loss(model.fast_forward(batch)[:, 0], batch.y.float()).backward()
        optimiser.step()

    for number in range(len(batches)):  # warm-up: every batch size once
        step(number)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for number in range(steps):
        step(number)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall": (time.perf_counter() - start) / steps,
        "user": (after.ru_utime - before.ru_utime) / steps,
        "system": (after.ru_stime - before.ru_stime) / steps,
        "faults": (after.ru_minflt - before.ru_minflt) / steps,
        "peak_mib": after.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per process")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--probe", choices=POLICIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.steps, args.threads)))
        return
    results: dict[str, list[dict[str, float]]] = {policy: [] for policy in POLICIES}
    for _ in range(args.rounds):
        for policy in POLICIES:
            command = [sys.executable, __file__, "--probe", policy, "--steps", str(args.steps)]
            command += ["--threads", str(args.threads)]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results[policy].append(json.loads(output))
    columns = ("wall", "user", "system", "faults", "peak_mib")
    print(f"DGCNN training steps, medians of {args.rounds} processes x {args.steps} steps each")
    print(f"{'policy':>8s} {'wall s':>8s} {'user s':>8s} {'system s':>9s} {'faults':>9s} {'peak MiB':>9s}")
    medians = {
        policy: {column: statistics.median(run[column] for run in runs) for column in columns}
        for policy, runs in results.items()
    }
    for policy, row in medians.items():
        print(
            f"{policy:>8s} {row['wall']:8.2f} {row['user']:8.2f} {row['system']:9.2f} {row['faults']:9.0f} "
            f"{row['peak_mib']:9.0f}"
        )
    print(f"wall-time ratio return / reuse: {medians['return']['wall'] / medians['reuse']['wall']:.2f}")


if __name__ == "__main__":
    main()
