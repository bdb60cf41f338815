"""Scaling past one process on the Dask engine: explain and detector simulate with 1 and 2 workers.

    python bench/bench_scale.py [--quick] [--repeat 3] [--jets 20000] [--memory-jets 20000 200000]
                                [--events 16] [--cache DIR]

1. ``explain`` (LRP, edges off) of ``--jets`` jets in 4 files, made by repeating 400 jets simulated once with
   Pythia (cached in ``--cache``), with a random-weight HIN of the CMS size: a Dask cluster of 2 one-thread
   workers against 1 one-thread worker (the same code path, ``explain_parts``), and against one process with
   2 torch threads (``explain_files``, today's single-file path). Wall time of the job, the cluster already
   started (its start is printed apart); medians of ``--repeat`` runs.
2. Peak memory (max RSS) of each worker after explaining ``--memory-jets`` jets (edges off), each in a fresh
   2-worker cluster: it follows the chunk and part size, not the number of jets.
3. ``detector simulate`` of ``--events`` Z→μμ events at μ = 200, CSV: ``--workers 2`` against 1, end to end
   (cluster start and Pythia set-up included, as a user sees them), and whether the files are
   byte-identical.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import resource
import statistics
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import torch
import uproot
from dask.distributed import Client, LocalCluster

from hepxai.data.detector import simulate_events
from hepxai.data.root_io import TreeWriter
from hepxai.data.schema import load_schema
from hepxai.data.simulate import simulate
from hepxai.explain.export import explain_files
from hepxai.explain.export_parts import explain_parts
from hepxai.models import InteractionNetwork, save_checkpoint
from hepxai.parallel import default_part_size

FILES = 4
BASE_JETS = 200  # H and as many QCD jets, simulated once


def _cluster(workers: int) -> LocalCluster:
    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_jets(cache: Path, num_jets: int) -> list[Path]:
    """``num_jets`` jets in ``FILES`` files, copies of the cached simulated jets."""
    base = cache / "simulated.root"
    if not base.is_file():
        simulate(base, num_signal=BASE_JETS, num_background=BASE_JETS, seed=5, workers=1, progress=False)
    folder = cache / f"jets{num_jets}"
    paths = [folder / f"jets{k}.root" for k in range(FILES)]
    if all(path.is_file() for path in paths):
        return paths
    tree = load_schema("cms_hbb").tree
    with uproot.open(base) as file:
        arrays = file[tree].arrays(library="ak")
    per_file = num_jets // FILES
    for path in paths:
        copies = -(-per_file // len(arrays))
        repeated = ak.concatenate([arrays] * copies)[:per_file]
        with TreeWriter(path, tree) as writer:
            writer.extend({name: _branch(repeated[name]) for name in repeated.fields})
    return paths


def _branch(values: ak.Array) -> ak.Array | np.ndarray:
    """A branch as TreeWriter takes it: per-jet values as numpy, per-track values jagged."""
    return ak.to_numpy(values) if values.ndim == 1 else ak.to_packed(values)


def bench_explain(
    model: Path, data: list[Path], out: Path, repeat: int, chunk_size: int
) -> dict[str, list[float]]:
    schema = load_schema("cms_hbb")
    settings = {"selection": "none", "edges": False, "chunk_size": chunk_size, "progress": False}
    times: dict[str, list[float]] = {"1 worker": [], "2 workers": [], "1 process, 2 threads": []}
    for workers in (1, 2):
        start = time.perf_counter()
        with _cluster(workers) as cluster, Client(cluster):
            print(f"  cluster of {workers} worker(s) started in {time.perf_counter() - start:.1f} s")
            for run in range(repeat):
                start = time.perf_counter()
                explain_parts(
                    model,
                    data,
                    out / f"w{workers}_{run}",
                    schema,
                    scheduler=cluster.scheduler_address,
                    part_size=default_part_size(sum(_entries(p) for p in data), 2),
                    **settings,
                )
                times[f"{workers} worker{'s' if workers > 1 else ''}"].append(time.perf_counter() - start)
    torch.set_num_threads(2)
    for run in range(repeat):
        start = time.perf_counter()
        explain_files(model, data, out / f"p2_{run}.h5", schema, **settings)
        times["1 process, 2 threads"].append(time.perf_counter() - start)
    return times


def bench_memory(model: Path, data: list[Path], out: Path, chunk_size: int) -> tuple[list[float], float]:
    schema = load_schema("cms_hbb")
    with _cluster(2) as cluster, Client(cluster) as client:
        start = time.perf_counter()
        explain_parts(
            model,
            data,
            out,
            schema,
            scheduler=cluster.scheduler_address,
            part_size=default_part_size(sum(_entries(p) for p in data), 2),
            selection="none",
            edges=False,
            chunk_size=chunk_size,
            progress=False,
        )
        seconds = time.perf_counter() - start
        return sorted(client.run(_peak_rss_mb).values()), seconds


def bench_detector(events: int, out: Path) -> tuple[dict[int, float], bool]:
    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        simulate_events(
            out / f"w{workers}", process="zmumu", events=events, pileup=200.0, workers=workers, progress=False
        )
        times[workers] = time.perf_counter() - start
    one = sorted(p.name for p in (out / "w1").glob("event*"))
    two = sorted(p.name for p in (out / "w2").glob("event*"))
    same = one == two and all(filecmp.cmp(out / "w1" / n, out / "w2" / n, shallow=False) for n in one)
    return times, same


def _entries(path: Path) -> int:
    with uproot.open(path) as file:
        return int(file[load_schema("cms_hbb").tree].num_entries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="2,000 jets, memory at 2,000 and 20,000, 4 events"
    )
    parser.add_argument("--jets", type=int, default=20_000)
    parser.add_argument("--memory-jets", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--events", type=int, default=16, help="mu = 200 events for detector simulate")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "hepxai_bench_scale")
    parser.add_argument("--skip", nargs="*", default=[], choices=["explain", "memory", "detector"])
    args = parser.parse_args()
    if args.quick:
        args.jets, args.memory_jets, args.events, args.repeat = 2_000, [2_000, 20_000], 4, 1
    logging.basicConfig(level=logging.WARNING)
    args.cache.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = save_checkpoint(args.cache / "hin.pt", InteractionNetwork(num_features=48).eval())

    with tempfile.TemporaryDirectory(dir=args.cache) as scratch:
        out = Path(scratch)
        if "explain" not in args.skip:
            data = make_jets(args.cache, args.jets)
            print(
                f"explain, {args.jets} jets in {FILES} files, edges off, chunk {args.chunk_size}, "
                f"median of {args.repeat}"
            )
            times = bench_explain(model, data, out / "explain", args.repeat, args.chunk_size)
            base = statistics.median(times["1 worker"])
            print(f"{'run':24s} {'s':>8s} {'jets/s':>8s} {'2 workers faster by':>20s}")
            for name, values in times.items():
                median = statistics.median(values)
                ratio = median / statistics.median(times["2 workers"])
                print(f"{name:24s} {median:8.1f} {args.jets / median:8.0f} {ratio:19.2f}x")
            print(f"  speed-up of 2 workers over 1: {base / statistics.median(times['2 workers']):.2f}x")
        if "memory" not in args.skip:
            print("peak RSS per worker (2 workers, edges off)")
            for num_jets in args.memory_jets:
                data = make_jets(args.cache, num_jets)
                peaks, seconds = bench_memory(model, data, out / f"memory{num_jets}", args.chunk_size)
                print(
                    f"  {num_jets:8d} jets: {', '.join(f'{p:.0f}' for p in peaks)} MB "
                    f"({seconds:.0f} s, {num_jets / seconds:.0f} jets/s)"
                )
        if "detector" not in args.skip:
            times, same = bench_detector(args.events, out / "detector")
            print(f"detector simulate, {args.events} Z->mumu events at mu = 200, CSV, end to end")
            print(
                f"  1 worker {times[1]:.1f} s, 2 workers {times[2]:.1f} s: {times[1] / times[2]:.2f}x; "
                f"files byte-identical: {same}"
            )


if __name__ == "__main__":
    main()
