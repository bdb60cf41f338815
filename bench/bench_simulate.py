"""Simulation throughput: events/s and jets/s per worker for each sample, and the 1 -> 2 worker scaling.

    python bench/bench_simulate.py [--jets 400] [--repeats 3]

Per-sample rates run the generator in this process (Pythia initialisation excluded); the scaling runs
``simulate`` end to end (start-up, initialisation and writing included) with 1 and 2 workers on the same jets.
All numbers are medians over the repeats.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hepxai.data.simulate import simulate
from hepxai.data.simulate.generation import make_pythia
from hepxai.data.simulate.particles import read_event
from hepxai.data.simulate.selection import select_jet


def sample_rate(process: str, num_jets: int, seed: int) -> tuple[float, float]:
    """Events/s and jets/s of one worker making ``num_jets`` jets of ``process``."""
    pythia = make_pythia(process, seed=seed, pthat_min=300.0)
    rng = np.random.default_rng(seed)
    events = jets = 0
    start = time.perf_counter()
    while jets < num_jets:
        events += 1
        if pythia.next():
            event = read_event(pythia.event, with_higgs=process == "signal")
            jets += select_jet(event, process, rng, max_tracks=60) is not None
    elapsed = time.perf_counter() - start
    return events / elapsed, jets / elapsed


def end_to_end(num_jets: int, workers: int, seed: int, folder: Path) -> float:
    start = time.perf_counter()
    simulate(
        folder / f"bench_{workers}_{seed}.root",
        num_signal=num_jets // 2,
        num_background=num_jets - num_jets // 2,
        seed=seed,
        workers=workers,
        progress=False,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=400, help="jets per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; medians are printed")
    args = parser.parse_args()

    print(f"{'sample':12s} {'events/s':>10s} {'jets/s':>10s}   (one worker, median of {args.repeats})")
    for process in ("signal", "background"):
        rates = np.array([sample_rate(process, args.jets // 2, seed) for seed in range(args.repeats)])
        events, jets = np.median(rates, axis=0)
        print(f"{process:12s} {events:10.1f} {jets:10.1f}")

    timings: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.repeats):  # alternate, so a change in machine load hits both alike
            for workers, values in timings.items():
                values.append(end_to_end(args.jets, workers, seed, Path(folder)))
    seconds = {workers: float(np.median(values)) for workers, values in timings.items()}
    print(
        f"\n{'workers':>7s} {'seconds':>9s} {'jets/s':>8s} {'jets/s/worker':>14s}"
        f"   ({args.jets} jets, half H->bb)"
    )
    for workers, elapsed in seconds.items():
        rate = args.jets / elapsed
        print(f"{workers:7d} {elapsed:9.2f} {rate:8.1f} {rate / workers:14.1f}")
    print(f"\nscaling 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x (ideal 2.00x)")


if __name__ == "__main__":
    main()
