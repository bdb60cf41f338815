"""``hepxai tracking ...``: the event sample of a setting, hit graphs, Truth-CC, the edge-classifier chain
(train, reconstruct, evaluate, display, explain) and the hierarchical models (train, evaluate); see
docs/tracking.md.

Each action parses its options (their groups and tables: :mod:`hepxai.cli.tracking_options`) and calls
one job of :mod:`hepxai.tracking.jobs` (the events: :func:`hepxai.tracking.sample.make_events`), imported
when the action runs. An action's help is the summary line of its ``run_*`` docstring, its description the
rest.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from hepxai.cli import arguments
from hepxai.cli import tracking_options as tables

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    tracking = commands.add_parser(
        "tracking", help="GNN track reconstruction: event samples, hit graphs, Truth-CC, the edge classifier"
    )
    actions = tracking.add_subparsers(dest="action", metavar="ACTION", required=True)

    events = _action(actions, "events", run_events)
    tables.setting_arguments(events)
    arguments.add_engine_arguments(events)

    graphs = _action(actions, "graphs", run_graphs)
    tables.setting_arguments(graphs)
    graphs.add_argument("--builder", choices=tables.BUILDERS, default="module_map", help="graph builder")
    graphs.add_argument("--cut-quantile", type=float, default=0.999, help="module map: quantile of the cuts")
    graphs.add_argument(
        "--map-pt-min",
        type=float,
        help="module map: learn the module pairs from training particles above this pT (GeV) rather than "
        "the setting's cut (more pairs seen); the cuts still come from the setting's particles. Graphs go "
        "to graphs/BUILDER_mapPT",
    )
    tables.add_options(graphs, tables.EMBEDDING_OPTIONS)
    graphs.add_argument("--splits", nargs="+", default=["train", "valid", "test"], help="splits to write")
    arguments.add_engine_arguments(graphs)

    truth = _action(actions, "truth-cc", run_truth_cc)
    truth.add_argument(
        "--graphs",
        type=Path,
        required=True,
        metavar="DIR",
        help="graph folder (setting: its graphs.yaml)",
    )
    truth.add_argument("--split", default="test", help="train, valid or test")

    train = _action(actions, "train", run_train)
    train.set_defaults(malloc_policy="reuse")
    train.add_argument("--graphs", type=Path, required=True, metavar="DIR", help="graph folder (graphs.yaml)")
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT from last.pt")
    train.add_argument("--model", choices=tables.MODELS, default="edge_classifier", help="what to train")
    tables.add_options(train, {**tables.TRAIN_OPTIONS, **tables.HIERARCHICAL_OPTIONS})
    train.add_argument("--max-train-events", type=int, metavar="N", help="use the first N training events")
    train.add_argument("--max-val-events", type=int, metavar="N", help="use the first N validation events")
    tables.threads_argument(train)

    curves = _action(actions, "curves", run_curves)
    curves.add_argument(
        "--run", type=Path, required=True, dest="run_folder", metavar="DIR", help="run folder (its last.pt)"
    )
    curves.add_argument("--out", type=Path, metavar="PNG", help="image to write (default: DIR/curves.png)")

    reconstruct = _action(actions, "reconstruct", run_reconstruct)
    tables.model_and_graphs_arguments(reconstruct)
    tables.cut_arguments(reconstruct)
    reconstruct.add_argument(
        "--best-neighbours", action="store_true", help="each hit keeps its best edge out and its best edge in"
    )
    reconstruct.add_argument("--out", type=Path, required=True, metavar="CSV", help="output file")

    evaluate = _action(actions, "evaluate", run_evaluate)
    tables.model_and_graphs_arguments(evaluate)
    tables.cut_arguments(evaluate)
    evaluate.add_argument("--best-neighbours-cut", type=float, help="its chain's cut (default: --cut)")
    evaluate.add_argument("--max-events", type=int, metavar="N", help="evaluate the first N events")
    evaluate.add_argument(
        "--edge-drop", type=float, default=0.0, metavar="P", help="drop each graph edge with probability P"
    )
    evaluate.add_argument("--drop-seed", type=int, default=0, help="seed of the edge drop")
    evaluate.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    evaluate.add_argument("--results", type=Path, metavar="CSV", help="results table to update")
    tables.threads_argument(evaluate)

    display = _action(actions, "display", run_display)
    tables.model_and_graphs_arguments(display)
    tables.event_arguments(display)
    display.add_argument("--particle", type=int, help="particle id to draw")
    display.add_argument("--edge", type=int, help="edge to explain (index in the graph's edge_index)")
    display.add_argument("--out", type=Path, required=True, metavar="PNG", help="image to write")

    explain = _action(actions, "explain", run_explain)
    tables.model_and_graphs_arguments(explain)
    tables.event_arguments(explain)
    decision = explain.add_mutually_exclusive_group()
    decision.add_argument("--edge", type=int, help="edge classifier: edge to explain (index in edge_index)")
    decision.add_argument(
        "--assignment",
        type=int,
        metavar="INDEX",
        help="bipartite HGNN: assignment edge to explain (hit-major, c per hit; default: the best one of the "
        "middle hit of the longest reconstructable particle)",
    )
    decision.add_argument(
        "--hit",
        type=int,
        dest="hit_id",
        metavar="HIT_ID",
        help="bipartite HGNN: explain this hit's best assignment",
    )
    explain.add_argument("--out", type=Path, required=True, metavar="PREFIX", help="output prefix")


def _action(
    actions: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """The parser of action ``name``: its help is the summary line of ``run``'s docstring, its description
    the rest."""
    summary, _, description = (run.__doc__ or "").partition("\n\n")
    parser = actions.add_parser(
        name, help=summary.rstrip("."), description=description, formatter_class=arguments.formatter()
    )
    parser.set_defaults(run=run)
    return parser


def _options(args: argparse.Namespace, *names: str) -> dict[str, object]:
    """The options ``names`` as keyword arguments of a job (named as the job names them)."""
    return {name: getattr(args, name) for name in names}


def _require_model_and_graphs(args: argparse.Namespace) -> None:
    arguments.require_existing("checkpoint", [args.model])
    arguments.require_existing("graph folder", [args.graphs])


def run_events(args: argparse.Namespace) -> int:
    """Simulate a setting's detector events (resumable).

    Run the detector for the setting's sample into ROOT/samples/SAMPLE (HDF5). A stopped run resumes: run
    the same command again."""
    arguments.require_at_least("--workers", args.workers, 1)
    _check_size(args)

    from hepxai.tracking.sample import make_events
    from hepxai.tracking.settings import resolve_setting

    setting = resolve_setting(args.setting, args.root, events=args.events, pileup=args.pileup)
    folder = make_events(
        setting, args.root, workers=args.workers, scheduler=args.scheduler, progress=args.progress
    )
    log.info("events of %s in %s", setting.name, folder)
    return 0


def _check_size(args: argparse.Namespace) -> None:
    """--events and --pileup of a custom setting (the job checks them again, with the setting's name)."""
    arguments.require_at_least("--events", args.events, 3)
    arguments.require_at_least("--pileup", args.pileup, 0)


def run_graphs(args: argparse.Namespace) -> int:
    """Build hit graphs of every split with a module map or a metric-learning embedding.

    module_map: fit the module map on the training events (once; ROOT/SETTING/module_map.npz) with
    geometric cuts learnt from them, then write every event's graph. module_map_nocuts: the same map without
    cuts. embedding: train the hit embedding on the training events (resumable; ROOT/SETTING/embedding/) and
    write radius graphs in its space. Graphs go to ROOT/SETTING/graphs/BUILDER/{train,valid,test}/; a
    stopped run resumes."""
    arguments.require_within("--cut-quantile", args.cut_quantile, 0, 1, low_open=True)
    for option, minimum in (("map_pt_min", 0), ("radius", 0), ("epochs", 1), ("max_neighbours", 1)):
        arguments.require_at_least(f"--{option.replace('_', '-')}", getattr(args, option), minimum)
    _check_size(args)

    from hepxai.tracking.builders import BuilderChoice
    from hepxai.tracking.embedding import EmbeddingConfig
    from hepxai.tracking.jobs import make_graphs
    from hepxai.tracking.settings import resolve_setting

    embedding = EmbeddingConfig(**_options(args, *tables.EMBEDDING_OPTIONS))
    choice = BuilderChoice(args.builder, args.cut_quantile, args.map_pt_min, embedding)
    setting = resolve_setting(args.setting, args.root, events=args.events, pileup=args.pileup)
    arguments.require_at_least("--workers", args.workers, 1)
    summary = make_graphs(
        setting,
        args.root,
        choice,
        splits=tuple(args.splits),
        progress=args.progress,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    print(summary.to_string())  # noqa: T201
    return 0


def run_truth_cc(args: argparse.Namespace) -> int:
    """Truth-CC efficiency, purity and TrackML score of a graph folder.

    Connected components of each graph's true edges as track candidates: the upper bound of edge
    classification on these graphs. Prints the efficiency, purity and TrackML score, and the efficiency of
    reconstructable particles against pT (bins from the setting's pT cut, the setting read from the
    folder's graphs.yaml) and eta."""
    arguments.require_existing("graph folder", [args.graphs])

    from hepxai.tracking.jobs import truth_cc_report

    report = truth_cc_report(args.graphs, args.split, progress=args.progress)
    for key, value in report.summary.items():
        print(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")  # noqa: T201
    print("efficiency of reconstructable particles (Clopper-Pearson 68%):")  # noqa: T201
    print(report.efficiency.to_string(index=False, float_format="{:.4f}".format))  # noqa: T201
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Train a tracking model on the train split, select on valid.

    --model edge_classifier (default): the edge-classifier Interaction Network, one event per step, weighted
    binary cross entropy. embedding_in, hgnn_embedding, hgnn_bipartite: the Embedding IN or a hierarchical
    GNN (hinge or bipartite loss with the training wheel; --hidden is their latent width, --cut and
    --pos-weight are not used). Writes OUT/config.yaml, OUT/last.pt (every epoch, for --resume),
    OUT/best.pt (the edge classifier: lowest validation loss; the others: highest validation pair AUC) and,
    at the end, OUT/curves.png (the learning curves, as tracking curves draws them)."""
    for option in ("epochs", "hidden", "iterations", "patience", "max_train_events", "max_val_events"):
        arguments.require_at_least(f"--{option.replace('_', '-')}", getattr(args, option), 1)
    arguments.require_at_least("--hierarchical-iterations", args.hierarchical_iterations, 1)
    arguments.require_at_least("--wheel-epochs", args.wheel_epochs, 0)
    arguments.require_within("--wheel-floor", args.wheel_floor, 0, 1)
    arguments.require_at_least("--threads", args.threads, 1)
    arguments.require_within("--cut", args.cut, 0, 1, low_open=True, high_open=True)
    arguments.require_existing("graph folder", [args.graphs])
    options = _options(args, "max_train_events", "max_val_events", "resume", "threads", "progress")
    if args.model != "edge_classifier":
        from hepxai.tracking.hgnn_training import HierarchicalModelConfig, HierarchicalTrainConfig
        from hepxai.tracking.jobs import train_hierarchical_model

        model = HierarchicalModelConfig.for_kind(
            args.model, latent=args.hidden, **_options(args, "iterations", "hierarchical_iterations")
        )
        schedule = _options(args, "epochs", "lr", "patience", "seed", "wheel_epochs", "wheel_floor")
        train_hierarchical_model(args.graphs, args.out, model, HierarchicalTrainConfig(**schedule), **options)
        return 0
    from hepxai.tracking.edge_training import EdgeTrainConfig
    from hepxai.tracking.jobs import train_edge_model

    config = EdgeTrainConfig(**{name: getattr(args, name) for name in tables.TRAIN_OPTIONS})
    train_edge_model(args.graphs, args.out, config, **options)
    return 0


def run_curves(args: argparse.Namespace) -> int:
    """Learning curves of a training run (PNG).

    Reads RUN/last.pt (written after every epoch, so a run still training can be drawn) and draws the
    training and validation loss and the validation AUC per epoch, the best epoch (best.pt) marked; to
    --out, default RUN/curves.png. tracking train draws RUN/curves.png itself when it ends."""
    arguments.require_existing("run folder", [args.run_folder])

    from hepxai.tracking.jobs import draw_learning_curves

    draw_learning_curves(args.run_folder, args.out)
    return 0


def run_reconstruct(args: argparse.Namespace) -> int:
    """Score edges, cut, connected components: a track id per hit (CSV).

    Writes OUT, a CSV of event_id, hit_id, track_id (TrackML
    submission columns); a hit in no candidate of at least --min-candidate-hits hits gets track_id -1."""
    _require_model_and_graphs(args)

    from hepxai.tracking.jobs import write_tracks

    options = _options(args, "split", "cut", "min_candidate_hits", "best_neighbours", "progress")
    write_tracks(args.model, args.graphs, args.out, **options)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Efficiency, purity, TrackML score and time of a model's chains and of Truth-CC.

    An edge classifier: the chain (score, cut, connected components) and the chain with best neighbours
    (each hit keeps its best edge out and its best edge in before the components). A hierarchical model:
    the bipartite HGNN's assignments above --cut (candidates may share hits), or HDBSCAN on an embedding
    model's output. Then Truth-CC, all on the graphs of --split, each edge dropped first with probability
    --edge-drop (seeded: every chain sees the same graphs). Writes
    OUT/summary.csv (one row per chain: efficiency, purity, TrackML score, time), OUT/particles.csv (every
    particle, matched or not), OUT/efficiency.csv and OUT/efficiency.png (efficiency against pT, in bins from
    the setting's pT cut, and eta); --results also writes the rows into the results table (e.g.
    results/tracking.csv), replacing rows of the same method and setting. Without the graph folder's
    graph_stats.csv the time per event is not measured: left empty, with a warning."""
    arguments.require_at_least("--max-events", args.max_events, 1)
    arguments.require_at_least("--threads", args.threads, 1)
    arguments.require_within("--edge-drop", args.edge_drop, 0, 1, high_open=True)
    _require_model_and_graphs(args)

    from hepxai.tracking.jobs import evaluate_chains

    names = ("split", "cut", "best_neighbours_cut", "min_candidate_hits", "max_events", "edge_drop")
    options = _options(args, *names, "drop_seed", "results", "threads", "progress")
    evaluate_chains(args.model, args.graphs, args.out, **options)
    return 0


def run_display(args: argparse.Namespace) -> int:
    """One track's true and fake edges coloured by score, and one edge's explanation (PNG).

    x-y and r-z views of one particle's hits and every graph edge touching them, coloured by score; below,
    the relevance of the explanation of one of its edges on the hits and edges around it. Default: the
    event's reconstructable particle (the setting's definition) with the most fake edges touching it, and its
    true edge with the lowest score."""
    _require_model_and_graphs(args)

    from hepxai.tracking.jobs import display_track

    options = _options(args, "split", "event_id", "particle", "edge", "method")
    display_track(args.model, args.graphs, args.out, **options)
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """Relevance of the hits and edges around one decision for its score (CSV).

    An edge classifier: the logit of one edge (--edge) by LRP (default) or gradient x input. Writes
    OUT_hits.csv (hit_id, particle_id (0: noise), r, phi, z relevance and their sum, for every hit that gets
    relevance) and OUT_edges.csv (source and target hit ids, score, truth, relevance of the pair geometry),
    and logs the conservation check (LRP: relevance + absorbed = logit). A bipartite HGNN: the logit of one
    hit-supernode assignment (--assignment, or --hit's highest-scoring one; default: that of the middle hit
    of the longest reconstructable particle) by gradient x input (LRP's rules do not cover its discrete
    pooling), on the hits, the edges and each supernode's embedding: OUT_hits.csv (with each hit's
    supernode), OUT_edges.csv, OUT_supernodes.csv (members, matched particle, the hit's score to it,
    relevance) and OUT.png (the relevance on the hits, the hit and the supernode's member hits marked)."""
    _require_model_and_graphs(args)

    from hepxai.tracking.jobs import write_explanation

    options = _options(args, "edge", "assignment", "hit_id", "split", "event_id", "method")
    write_explanation(args.model, args.graphs, args.out, **options)
    return 0
