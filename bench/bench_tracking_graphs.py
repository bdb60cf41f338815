"""Graph builders side by side on the same events: edges, graph edge efficiency and purity, seconds.

    python bench/bench_tracking_graphs.py --root data/tracking [--setting pt1_mu200] [--events 10]
        [--split valid] [--radius 0.05 0.1]

Reads the first ``--events`` events of the split, then for each builder (the module map without cuts, with
the learnt cuts — ``ROOT/SETTING/module_map{,_nocuts}.npz`` if there, else fitted on the training events —,
the map learnt from particles down to 0.5 GeV if ``module_map_map0.5.npz`` is there, and, if trained, the
embedding at each ``--radius``) builds every event's graph and prints medians per event
of hits, edges and seconds (edges found and oriented), and the graph edge efficiency and purity of the sums.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.tracking.embedding import EmbeddingGraphBuilder, load_embedding
from hepxai.tracking.event_graph import event_hits, with_edges
from hepxai.tracking.module_map import ModuleMap
from hepxai.tracking.sample import read_setting_events
from hepxai.tracking.settings import Setting, get_setting


def module_map(setting: Setting, root: Path, name: str, cut_quantile: float | None) -> ModuleMap:
    path = setting.folder(root) / f"{name}.npz"
    if path.is_file():
        return ModuleMap.load(path)
    train = (event_hits(event) for event in read_setting_events(setting, root, setting.train))
    return ModuleMap.fit(train, cut_quantile=cut_quantile)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--setting", default="pt1_mu200")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--radius", type=float, nargs="+", default=[0.05, 0.1])
    args = parser.parse_args()
    setting = get_setting(args.setting)
    event_ids = list(setting.split(args.split))[: args.events]
    events = [event_hits(event) for event in read_setting_events(setting, args.root, event_ids)]
    builders = {
        "module map": module_map(setting, args.root, "module_map_nocuts", None),
        "module map + cuts": module_map(setting, args.root, "module_map", 0.999),
    }
    wide = setting.folder(args.root) / "module_map_map0.5.npz"  # hepxai tracking graphs --map-pt-min 0.5
    if wide.is_file():
        builders["map from pT>0.5 + cuts"] = ModuleMap.load(wide)
    embedding = setting.folder(args.root) / "embedding"
    if (embedding / "best.pt").is_file():
        model, config = load_embedding(embedding)
        for radius in args.radius:
            builders[f"embedding r={radius}"] = EmbeddingGraphBuilder(model, radius, config.max_neighbours)
    print(f"{args.setting}, {args.split} events {event_ids[0]}-{event_ids[-1]}; medians per event")
    print(f"{'builder':<22} {'hits':>7} {'edges':>9} {'efficiency':>11} {'purity':>8} {'seconds':>8}")
    for name, builder in builders.items():
        edges, seconds, kept, true_edges = [], [], 0, 0
        for data in events:
            start = time.perf_counter()
            graph = with_edges(data, builder.edges(data))
            seconds.append(time.perf_counter() - start)
            edges.append(graph.num_edges)
            kept += int(graph.y.sum())
            true_edges += int(graph.num_true_edges)
        hits = statistics.median(data.num_nodes for data in events)
        print(
            f"{name:<22} {hits:>7.0f} {statistics.median(edges):>9.0f} "
            f"{kept / true_edges:>11.4f} {kept / sum(edges):>8.4f} {statistics.median(seconds):>8.3f}"
        )


if __name__ == "__main__":
    main()
