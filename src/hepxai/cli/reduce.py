"""``hepxai reduce``: retrain the tagger on its top-k features under LRP, permutation and random rankings."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments
from hepxai.cli.train import add_train_arguments, resolve_config

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Relevance-guided feature reduction. For every seed: train the HIN on all track features
(OUT/seed<S>/all), rank the distinct features on its validation jets by LRP-epsilon relevance, by
permutation importance (AUC drop) and at random (OUT/seed<S>/rankings.csv), retrain it on the top k of
each ranking with the same jets and budget (OUT/seed<S>/<ranking>/k<K>, a train run folder whose config
records the features), and score every model on --test inside the training selection. Resumable: finished
runs are skipped, interrupted ones resume. --results gets one row per (ranking, k, seed): auc,
rejection_50 (1 / QCD efficiency at 50% H efficiency), their 68% bootstrap intervals over the test jets,
and a provenance JSON beside it."""


def register(commands: argparse._SubParsersAction) -> None:
    reduce = commands.add_parser(
        "reduce",
        help="retrain the tagger on its top-k features (LRP, permutation, random rankings)",
        description=_DESCRIPTION,
        formatter_class=arguments.formatter(),
    )
    reduce.add_argument("--data", nargs="+", required=True, metavar="FILE", help="training ROOT files")
    reduce.add_argument(
        "--test", nargs="+", required=True, metavar="FILE", help="test ROOT files (H and QCD)"
    )
    reduce.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder of all runs")
    reduce.add_argument("--results", type=Path, metavar="CSV", help="e.g. results/feature_reduction.csv")
    reduce.add_argument(
        "--figure", type=Path, metavar="PNG", help="rejection_50 against k, one curve per ranking"
    )
    reduce.add_argument(
        "--rankings",
        nargs="+",
        default=["lrp", "permutation", "random"],
        choices=["lrp", "permutation", "random"],
        help="feature rankings",
    )
    reduce.add_argument(
        "--features-kept",
        nargs="+",
        type=int,
        default=[4, 8, 12, 16, 24, 32, 48],
        metavar="K",
        help="k to retrain at; the schema's feature count (48) is the model on all features",
    )
    reduce.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="S", help="training seeds")
    reduce.add_argument("--config", type=Path, help="YAML run config (sections data, model, train)")
    add_train_arguments(reduce)
    for action in reduce._actions:  # --seeds replaces the single training seed
        if action.dest == "seed":
            action.help = argparse.SUPPRESS
    reduce.add_argument("--hidden", type=int, metavar="N", help="hidden width of every MLP (default: 128)")
    reduce.add_argument("--schema", help="cms_hbb, sanity, a schema YAML file, or auto (default: auto)")
    reduce.add_argument(
        "--selection",
        choices=["auto", "original", "none"],
        help="jet selection of training and test jets (default: auto, the original window where the "
        "schema has its spectators)",
    )
    reduce.add_argument("--max-jets", type=int, metavar="N", help="training jets read (default: all)")
    reduce.add_argument("--test-max-jets", type=int, default=None, metavar="N", help="test jets read")
    reduce.add_argument(
        "--ranking-jets",
        type=int,
        default=None,
        metavar="N",
        help="validation jets the rankings use (default: all)",
    )
    reduce.add_argument("--bootstrap", type=int, default=200, metavar="N", help="resamples per interval")
    reduce.set_defaults(run=run_reduce, malloc_policy="reuse")


def run_reduce(args: argparse.Namespace) -> int:
    for option in ("--max-jets", "--test-max-jets", "--ranking-jets", "--bootstrap", "--epochs"):
        arguments.require_at_least(option, getattr(args, option[2:].replace("-", "_"), None), 1)
    arguments.require_existing("file", [*args.data, *args.test])
    if args.config is not None:
        arguments.require_existing("config", [args.config])

    import dataclasses

    from hepxai.reduction import ReductionPlan, run_reduction

    config = resolve_config(args, args.config)
    plan = ReductionPlan(
        run=config,
        test_files=tuple(str(path) for path in args.test),
        rankings=tuple(dict.fromkeys(args.rankings)),
        feature_counts=tuple(args.features_kept),
        seeds=tuple(dict.fromkeys(args.seeds)),
        ranking_jets=args.ranking_jets,
        bootstrap=args.bootstrap,
        test_max_jets=args.test_max_jets,
    )
    log.info("feature reduction with %s", dataclasses.asdict(config.train))
    table = run_reduction(plan, args.out, results=args.results, figure=args.figure, progress=args.progress)
    log.info("%d rows%s", len(table), f", wrote {args.results}" if args.results else "")
    return 0
