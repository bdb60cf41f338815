"""ROOT -> graph batches throughput, against plain ``tree.arrays`` on the same file in the same run.

Writes (once, cached) a zlib-compressed file in the CMS schema with ``--jets`` jets of 2-60 tracks
(track counts drawn from a gamma distribution with mean ~22, as in boosted jets), then times, interleaved
and repeated:
  read   : ``tree.iterate`` over every feature, label and spectator branch (the floor: decompression)
  graphs : the reader (validation, labels, cut, flattening) plus fully connected batches of ``--batch-size``

Run: ``.venv/bin/python bench/bench_read.py`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepxai.data import TreeWriter, iter_jets, load_schema


def make_file(path: Path, num_jets: int, seed: int = 0) -> Path:
    if path.exists():
        return path
    schema = load_schema("cms_hbb")
    rng = np.random.default_rng(seed)
    with TreeWriter(path, schema.tree) as writer:
        for start in range(0, num_jets, 20_000):
            n = min(20_000, num_jets - start)
            counts = np.clip(rng.gamma(4.0, 5.5, n).astype(np.int64), 2, 60)
            total = int(counts.sum())
            branches: dict = {
                name: ak.unflatten(rng.normal(size=total).astype(np.float32), counts)
                for name in schema.unique_features
            }
            is_higgs = rng.uniform(size=n) < 0.5
            branches["label_H_bb"] = is_higgs.astype(np.int32)
            branches["sample_isQCD"] = (~is_higgs).astype(np.int32)
            for name in schema.background_labels:
                branches[name] = ((~is_higgs) & (name == "label_QCD_others")).astype(np.int32)
            branches["fj_sdmass"] = rng.uniform(40, 200, n).astype(np.float32)
            branches["fj_pt"] = rng.uniform(300, 2000, n).astype(np.float32)
            writer.extend(branches)
    return path


def time_read(path: Path, chunk_size: int) -> float:
    schema = load_schema("cms_hbb")
    branches = [*schema.unique_features, *schema.label_branches, *schema.spectators]
    start = time.perf_counter()
    tree = uproot.open(path)[schema.tree]
    for _ in tree.iterate(branches, step_size=chunk_size, library="ak"):
        pass
    return time.perf_counter() - start


def time_graphs(path: Path, chunk_size: int, batch_size: int) -> tuple[float, int, int, int]:
    schema = load_schema("cms_hbb")
    jets_seen = tracks = edges = 0
    start = time.perf_counter()
    for jets in iter_jets(path, schema, chunk_size=chunk_size, progress=False):
        for first in range(0, len(jets), batch_size):
            batch = jets.select(np.arange(first, min(first + batch_size, len(jets)))).to_batch()
            jets_seen += batch.num_graphs
            tracks += batch.num_nodes
            edges += batch.edge_index.shape[1]
    return time.perf_counter() - start, jets_seen, tracks, edges


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()

    path = make_file(args.out / f"cms_like_{args.jets}.root", args.jets)
    size_mb = path.stat().st_size / 1e6
    read_times, graph_times = [], []
    for _ in range(args.repeats):
        read_times.append(time_read(path, args.chunk_size))
        seconds, jets, tracks, edges = time_graphs(path, args.chunk_size, args.batch_size)
        graph_times.append(seconds)
    read_s, graph_s = statistics.median(read_times), statistics.median(graph_times)
    print(f"file: {path} ({size_mb:.0f} MB, zlib), {jets} jets, {tracks} tracks, {edges} edges")
    print(f"{'path':<28}{'median s':>10}{'jets/s':>12}{'tracks/s':>14}{'edges/s':>14}")
    reference = "tree.iterate (reference)"
    print(f"{reference:<28}{read_s:>10.2f}{jets / read_s:>12.0f}{tracks / read_s:>14.0f}{'-':>14}")
    print(
        f"{'reader + graph batches':<28}{graph_s:>10.2f}{jets / graph_s:>12.0f}{tracks / graph_s:>14.0f}"
        f"{edges / graph_s:>14.0f}"
    )
    print(f"ratio reference/graphs = {read_s / graph_s:.2f}  (goal >= 0.5: graph building adds at most 1x)")


if __name__ == "__main__":
    main()
