"""Peak resident memory and jets/s of ``hepxai explain`` and ``hepxai evaluate`` against the number of jets.

Every command runs in a fresh process under GNU ``/usr/bin/time -v`` (its "Maximum resident set size");
jets/s is jets over the command's whole wall time (start-up, reading, writing included); medians of
``--repeats``. Input files hold the jets of ``--source`` (a ROOT file, e.g. simulated jets) repeated, or,
without it, synthetic jets in the CMS schema with 2-60 tracks (gamma distributed, mean ~22, as in boosted
jets); both are cached in ``--work``.

Goals: peak RSS flat in the number of jets (within 25% from 2,400 to 12,000 jets and from
30k to 300k) and under 2 GB with default settings. ``--baseline-src`` runs the same commands with another
checkout's ``src`` side by side, for throughput ratios (skipped above ``--baseline-max-jets``).

Run: ``nice -n 10 .venv/bin/python bench/bench_memory.py --jets 2400 12000 30000 300000``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepxai.data import TreeWriter, load_schema

_REPOSITORY = Path(__file__).resolve().parents[1]
_ORIGINAL_MODEL = (
    Path(os.environ.get("HEPXAI_REFERENCE_DIR", _REPOSITORY.parent / "shared" / "reference" / "hin_cms"))
    / "hin_cms_state_dict.npz"
)


def synthetic_chunk(num_jets: int, rng: np.random.Generator) -> dict:
    """CMS-schema branches of ``num_jets`` jets, all inside the original selection window."""
    schema = load_schema("cms_hbb")
    counts = np.clip(rng.gamma(4.0, 5.5, num_jets).astype(np.int64), 2, 60)
    total = int(counts.sum())
    branches: dict = {
        name: ak.unflatten(rng.normal(size=total).astype(np.float32), counts)
        for name in schema.unique_features
    }
    is_higgs = rng.uniform(size=num_jets) < 0.5
    branches["label_H_bb"] = is_higgs.astype(np.int32)
    branches["sample_isQCD"] = (~is_higgs).astype(np.int32)
    for name in schema.background_labels:
        branches[name] = ((~is_higgs) & (name == "label_QCD_others")).astype(np.int32)
    branches["fj_sdmass"] = rng.uniform(45, 195, num_jets).astype(np.float32)
    branches["fj_pt"] = rng.uniform(310, 1990, num_jets).astype(np.float32)
    return branches


def make_file(path: Path, num_jets: int, source: Path | None, tree_name: str) -> Path:
    """``num_jets`` jets: ``source``'s entries repeated (the last copy cut), or synthetic ones."""
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    template = uproot.open(source)[tree_name].arrays(library="ak") if source is not None else None
    with TreeWriter(path, tree_name) as writer:
        for start in range(0, num_jets, 20_000):
            size = min(20_000, num_jets - start)
            if template is None:
                writer.extend(synthetic_chunk(size, rng))
                continue
            index = np.arange(start, start + size) % len(template)
            chunk = template[index]
            writer.extend({name: chunk[name] for name in chunk.fields if name != "n_tracks"})
    return path


def measure(command: list[str], src: Path) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of ``command`` run with ``src`` first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=environment, check=False
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        msg = f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}"
        raise RuntimeError(msg)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return peak_kb / 1024, seconds


def commands(data: Path, out: Path, model: Path) -> dict[str, list[str]]:
    hepxai = [sys.executable, "-m", "hepxai", "-q"]
    return {
        "explain": [
            *hepxai,
            "explain",
            "--model",
            str(model),
            "--data",
            str(data),
            "--out",
            str(out / "r.h5"),
        ],
        "evaluate": [
            *hepxai,
            "evaluate",
            "--model",
            str(model),
            "--data",
            str(data),
            "--out",
            str(out / "ev"),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--jets",
        type=int,
        nargs="+",
        default=[2_400, 12_000, 30_000],
        help="jets per input file; add 300000 for the large point (hours)",
    )
    parser.add_argument(
        "--commands", nargs="+", default=["explain", "evaluate"], choices=["explain", "evaluate"]
    )
    parser.add_argument(
        "--model", type=Path, default=_ORIGINAL_MODEL, help="checkpoint (default: original HIN)"
    )
    parser.add_argument("--source", type=Path, default=None, help="ROOT file whose jets are repeated")
    parser.add_argument("--schema", default="cms_hbb", help="schema of --source (its tree name)")
    parser.add_argument("--work", type=Path, default=_REPOSITORY / "bench" / "out" / "memory")
    parser.add_argument(
        "--baseline-src", type=Path, default=None, help="another checkout's src, side by side"
    )
    parser.add_argument("--baseline-max-jets", type=int, default=2_400)
    parser.add_argument("--repeats", type=int, default=1, help="runs per point, interleaved; medians")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    tree_name = load_schema(args.schema).tree
    tag = args.source.stem if args.source is not None else "synthetic"
    versions = {"this": _REPOSITORY / "src"}
    if args.baseline_src is not None:
        versions["baseline"] = args.baseline_src.resolve()
    print(f"model {args.model}; jets: {tag}; one fresh process per command", flush=True)
    print(
        f"{'command':9s} {'version':9s} {'jets':>8s} {'peak_MB':>8s} {'seconds':>8s} {'jets/s':>8s}",
        flush=True,
    )
    peaks: dict[tuple[str, str], dict[int, float]] = {}
    for num_jets in args.jets:
        data = make_file(args.work / f"{tag}_{num_jets}.root", num_jets, args.source, tree_name)
        for name in args.commands:
            for version, src in versions.items():
                if version == "baseline" and num_jets > args.baseline_max_jets:
                    continue
                out = args.work / f"out_{version}_{num_jets}"
                runs = [measure(commands(data, out, args.model)[name], src) for _ in range(args.repeats)]
                peak, seconds = (statistics.median(values) for values in zip(*runs, strict=True))
                peaks.setdefault((name, version), {})[num_jets] = peak
                print(
                    f"{name:9s} {version:9s} {num_jets:8d} {peak:8.0f} {seconds:8.1f} "
                    f"{num_jets / seconds:8.1f}",
                    flush=True,
                )
    for (name, version), by_jets in peaks.items():
        for low, high in ((2_400, 12_000), (30_000, 300_000)):
            if low in by_jets and high in by_jets:
                ratio = by_jets[high] / by_jets[low]
                print(f"{name} {version}: peak RSS {high} / {low} jets = {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
