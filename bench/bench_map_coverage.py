"""Module-map coverage against its training events: the graph edge efficiency of held-out events.

    python bench/bench_map_coverage.py --root data/tracking --events 100 --pileup 20 --test-events 20 \\
        --train-events 4 10 20 40 80 [--map-pt-min 0.1]

Reads the sample of the custom setting ``--events``/``--pileup`` (made by ``hepxai tracking events``),
fits a module map with the learnt cuts on the first N events for each N of ``--train-events`` (particles
above the setting's pT cut, or above ``--map-pt-min``), and prints its module pairs and the share of the
true edges of the last ``--test-events`` events that its graphs keep. The threshold of
:data:`hepxai.tracking.run_size.MIN_BUILDER_EVENTS` comes from these numbers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.tracking.event_graph import event_hits, with_edges
from hepxai.tracking.module_map import ModuleMap
from hepxai.tracking.sample import read_setting_events
from hepxai.tracking.settings import resolve_setting


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path("data/tracking"))
    parser.add_argument("--setting", default="pt1_mu200")
    parser.add_argument("--events", type=int)
    parser.add_argument("--pileup", type=float)
    parser.add_argument("--test-events", type=int, default=20)
    parser.add_argument("--train-events", type=int, nargs="+", default=[4, 10, 20, 40])
    parser.add_argument("--map-pt-min", type=float)
    parser.add_argument("--cut-quantile", type=float, default=0.999)
    args = parser.parse_args()
    setting = resolve_setting(args.setting, args.root, events=args.events, pileup=args.pileup)
    total = setting.sample.events
    test_ids = range(total - args.test_events, total)
    train_ids = range(max(args.train_events))
    if train_ids.stop > test_ids.start:
        parser.error(f"--train-events up to {train_ids.stop} overlap the test events from {test_ids.start}")
    test = [event_hits(event) for event in read_setting_events(setting, args.root, test_ids)]
    map_setting = setting if args.map_pt_min is None else replace(setting, pt_min=args.map_pt_min)
    train = [event_hits(event) for event in read_setting_events(map_setting, args.root, train_ids)]
    print(f"{setting.name}: test events {test_ids.start}-{test_ids.stop - 1}")
    print("train_events  module_pairs  edge_efficiency")
    for number in args.train_events:
        module_map = ModuleMap.fit(
            iter(train[:number]), cut_quantile=args.cut_quantile, cut_pt_min=setting.pt_min
        )
        kept = true = 0
        for data in test:
            graph = with_edges(data, module_map.edges(data))
            kept += int(graph.y.sum())
            true += int(graph.num_true_edges)
        print(f"{number:>12}  {len(module_map.table):>12}  {kept / true:>15.4f}")


if __name__ == "__main__":
    main()
