"""Simulation throughput: events/s and jets/s per worker for each sample, and the 1 -> 2 worker scaling.

    python bench/bench_simulate.py [--jets 400] [--repeats 3]
    OMP_NUM_THREADS=1 python bench/bench_simulate.py --tracker-cost [--jets 400] [--repeats 3] [--pileup 30]

``--tracker-cost`` measures instead the per-sample rates of the resolution model, the tracker without
pile-up and the tracker with pile-up (the default of ``data simulate``), alternating the three within this
process (the pile-up library is made before the clocks start, as Pythia's initialisation).

Per-sample rates run the generator in this process (Pythia initialisation excluded); the scaling runs
``simulate`` end to end (start-up, initialisation and writing included) with 1 and 2 workers on the same jets,
alternating so that changes in machine load hit both alike. Rates are given per wall-clock second and per
CPU second (this process and its workers): on a machine shared with other jobs the wall-clock scaling is
capped by the CPU the scheduler grants, while the CPU cost per jet shows the parallel overhead itself.
All numbers are medians over the repeats.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from hepxai.data.simulate import simulate
from hepxai.data.simulate.generation import TAU0_MAX_MM, TRACKER_TAU0_MAX_MM, make_pythia
from hepxai.data.simulate.particles import read_event
from hepxai.data.simulate.pileup import Pileup, make_library
from hepxai.data.simulate.selection import select_jet
from hepxai.data.simulate.tracker import Tracker


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def sample_rate(
    process: str, num_jets: int, seed: int, tracker: Tracker | None = None, pileup: Pileup | None = None
) -> tuple[float, float, float]:
    """Events/s, jets/s (wall clock) and jets per CPU second of one worker making ``num_jets`` jets."""
    tau0_max = TAU0_MAX_MM if tracker is None else TRACKER_TAU0_MAX_MM
    pythia = make_pythia(process, seed=seed, pthat_min=300.0, tau0_max=tau0_max)
    rng = np.random.default_rng(seed)
    events = jets = 0
    start, cpu_start = time.perf_counter(), cpu_seconds()
    while jets < num_jets:
        events += 1
        if pythia.next():
            event = read_event(pythia.event, with_higgs=process == "signal")
            record = select_jet(event, process, rng, max_tracks=60, tracker=tracker, pileup=pileup)
            jets += record is not None
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    return events / elapsed, jets / elapsed, jets / cpu


def end_to_end(num_jets: int, workers: int, seed: int, folder: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one ``simulate`` call."""
    start, cpu_start = time.perf_counter(), cpu_seconds()
    simulate(
        folder / f"bench_{workers}_{seed}.root",
        num_signal=num_jets // 2,
        num_background=num_jets - num_jets // 2,
        seed=seed,
        workers=workers,
        tracker=False,
        progress=False,
    )
    return time.perf_counter() - start, cpu_seconds() - cpu_start


def tracker_cost(num_jets: int, repeats: int, mu: float) -> None:
    """Jets per CPU second of each sample: resolution model, tracker, tracker with pile-up; alternating."""
    tracker = Tracker()
    pileup = Pileup(make_library(0, tau0_max=TRACKER_TAU0_MAX_MM), mu)
    modes = {
        "resolution": {},
        "tracker": {"tracker": tracker},
        f"tracker+PU{mu:g}": {"tracker": tracker, "pileup": pileup},
    }
    print(f"one worker, {num_jets // 2} jets per sample, median of {repeats}, alternating")
    print(f"{'sample':12s} {'tracks':>14s} {'events/s':>9s} {'jets/s':>8s} {'jets/CPU-s':>11s}")
    for process in ("signal", "background"):
        rates: dict[str, list] = {mode: [] for mode in modes}
        for seed in range(repeats):
            for mode, options in modes.items():
                rates[mode].append(sample_rate(process, num_jets // 2, seed, **options))
        for mode, values in rates.items():
            events, jets, jets_per_cpu = np.median(np.array(values), axis=0)
            print(f"{process:12s} {mode:>14s} {events:9.1f} {jets:8.1f} {jets_per_cpu:11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=400, help="jets per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; medians are printed")
    parser.add_argument(
        "--tracker-cost", action="store_true", help="compare the resolution model with the tracker instead"
    )
    parser.add_argument("--pileup", type=float, default=30.0, help="pile-up mu of --tracker-cost")
    args = parser.parse_args()
    if args.tracker_cost:
        tracker_cost(args.jets, args.repeats, args.pileup)
        return

    print(f"one worker, {args.jets // 2} jets per sample, median of {args.repeats}")
    print(f"{'sample':12s} {'events/s':>9s} {'jets/s':>8s} {'jets/CPU-s':>11s}")
    for process in ("signal", "background"):
        rates = np.array([sample_rate(process, args.jets // 2, seed) for seed in range(args.repeats)])
        events, jets, jets_per_cpu = np.median(rates, axis=0)
        print(f"{process:12s} {events:9.1f} {jets:8.1f} {jets_per_cpu:11.1f}")

    timings: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.repeats):
            for workers, values in timings.items():
                values.append(end_to_end(args.jets, workers, seed, Path(folder)))
    wall = {workers: float(np.median([w for w, _ in values])) for workers, values in timings.items()}
    cpu = {workers: float(np.median([c for _, c in values])) for workers, values in timings.items()}
    print(f"\nsimulate(), {args.jets} jets (half H->bb), median of {args.repeats}")
    print(
        f"{'workers':>7s} {'wall s':>7s} {'CPU s':>7s} {'jets/s':>7s}"
        f" {'jets/s/worker':>14s} {'jets/CPU-s':>11s}"
    )
    for workers in (1, 2):
        rate = args.jets / wall[workers]
        print(
            f"{workers:7d} {wall[workers]:7.2f} {cpu[workers]:7.2f} {rate:7.1f} {rate / workers:14.1f}"
            f" {args.jets / cpu[workers]:11.1f}"
        )
    print(f"\nscaling 1 -> 2 workers, wall clock: {wall[1] / wall[2]:.2f}x (ideal 2.00x)")
    print(f"CPU cost per jet, 2 workers vs 1: {cpu[2] / cpu[1]:.2f}x (ideal 1.00x)")


if __name__ == "__main__":
    main()
