"""Write the toy events of ``bench_hgnn_toy.py`` as a graph folder, so the ``hepxai tracking`` commands
(train, evaluate, curves, explain) run on them (docs/tracking.md).

    python bench/toy_graph_folder.py --out DIR

``tests/tracking/toys.py``: 30 straight particles through 7 layers, 3 fake edges per hit, 3 noise hits;
train: seeds 0–7, valid: seed 100, test: seeds 100–102 (as ``bench_hgnn_toy.py`` validates on the first
test event). Recorded as setting ``pt1_mu200`` (reconstructable: more than 5 hits, pT above 1 GeV: every
toy particle), builder ``toy``; no ``graph_stats.csv``, so graph time is not measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from hepxai.tracking.event_graph import graph_path, write_graph, write_graph_record  # noqa: E402
from tracking.toys import toy_event  # noqa: E402

SPLITS = {"train": range(8), "valid": (100,), "test": (100, 101, 102)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="graph folder to write")
    args = parser.parse_args()
    for split, seeds in SPLITS.items():
        for seed in seeds:
            event = toy_event(seed, num_particles=30, fakes_per_hit=3, event_id=seed)
            write_graph(event, graph_path(args.out, split, seed))
    write_graph_record(args.out, {"setting": "pt1_mu200", "builder": "toy"})
    print(args.out)


if __name__ == "__main__":
    main()
