"""``hepxai benchmark``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
from pathlib import Path

from hepxai.cli import arguments
from hepxai.errors import InputError

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Score explainers against b-hadron truth on simulated H->bb jets (files with the track_fromB branch).
Every method explains the H logit (or --target) of the same signal jets; tracks are ranked by the sum of
|relevance| over features. Writes to --out: table.csv and table.md (method, interp_auc, prec@3, prec@5,
prec@10, deletion_auc, seconds_per_1000_jets; table.md also says how often LRP-epsilon's top --walks walks
join two b-hadron tracks), deletion_curves.csv and deletion.png. Use jets the model was not trained on.
With several --workers (or --scheduler) the signal jets are explained as tasks of whole batches on Dask
workers; the table is the same as with --workers 1 (seconds_per_1000_jets then adds every worker's time)."""


def register(commands: argparse._SubParsersAction) -> None:
    benchmark = commands.add_parser(
        "benchmark",
        help="score explainers against b-hadron truth",
        description=_DESCRIPTION,
        formatter_class=arguments.formatter(),
    )
    benchmark.add_argument(
        "--model", type=Path, required=True, metavar="CHECKPOINT", help="model checkpoint (hepxai train)"
    )
    benchmark.add_argument(
        "--data", type=Path, nargs="+", required=True, metavar="FILE", help="ROOT files with track_fromB"
    )
    benchmark.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    benchmark.add_argument(
        "--max-jets", type=int, default=None, metavar="N", help="signal jets to use (default: all)"
    )
    benchmark.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help="methods to run (default: all: lrp_epsilon, lrp_epsilon_raw, lrp_gamma, lrp_zplus, "
        "lrp_epsilon_gamma, lrp_epsilon_plus, lrp_epsilon_gamma_input, saliency, gradient_x_input, "
        "integrated_gradients, gradgam, bernmask, bernmask_p, "
        "random, track_pt, impact_parameter)",
    )
    benchmark.add_argument(
        "--score-features",
        nargs="+",
        default=None,
        metavar="FEATURE",
        help="also score each explainer by the sum of |relevance| over these features only, in rows "
        "named method[FEATURE,...] (e.g. trackBTag_Sip3dSig track_dxysig)",
    )
    benchmark.add_argument(
        "--lri-model",
        type=Path,
        default=None,
        metavar="CHECKPOINT",
        help="also score an LRI-Bernoulli run of the same jets (hepxai train --lri): row lri_bernoulli, its "
        "keep-probability per track, its deletion curve on its own model",
    )
    benchmark.add_argument(
        "--target",
        choices=("H", "QCD", "H-QCD"),
        default="H",
        help="what every method explains; the deletion curve measures P(H) whatever it is",
    )
    benchmark.add_argument(
        "--walks",
        type=int,
        default=3,
        metavar="K",
        help="count b-hadron track pairs among each jet's top K walks of LRP-epsilon (0: skip)",
    )
    benchmark.add_argument("--schema", default="auto", help="cms_hbb, a YAML file, or auto (from the tree)")
    arguments.add_model_selection_argument(benchmark)
    benchmark.add_argument("--chunk-size", type=int, default=256, metavar="N", help="jets explained at once")
    benchmark.add_argument("--batch-size", type=int, dest="chunk_size", help=argparse.SUPPRESS)  # old name
    benchmark.add_argument("--deletion-steps", type=int, default=10, help="most tracks removed per jet")
    benchmark.add_argument("--seed", type=int, default=0, help="seed of the random ranking and the masks")
    benchmark.add_argument(
        "--results",
        type=Path,
        metavar="CSV",
        help="also write the scores (no timing) with the jet count and --model to this CSV, "
        "e.g. results/benchmark_jets.csv",
    )
    arguments.add_engine_arguments(benchmark)
    benchmark.set_defaults(run=run_benchmark)


def run_benchmark(args: argparse.Namespace) -> int:
    arguments.require_at_least("--max-jets", args.max_jets, 1)
    arguments.require_at_least("--chunk-size", args.chunk_size, 1)
    arguments.require_at_least("--deletion-steps", args.deletion_steps, 1)
    arguments.require_at_least("--walks", args.walks, 0)
    arguments.require_at_least("--workers", args.workers, 1)
    arguments.require_existing("checkpoint", [args.model, *([args.lri_model] if args.lri_model else [])])
    arguments.require_existing("file", args.data)

    from hepxai.benchmark import (
        METHODS,
        OwnModel,
        read_signal_jets,
        resolve_schema,
        run_benchmark,
        write_benchmark,
        write_results,
    )
    from hepxai.data.root_io import describe_selection, resolve_selection, selection_window
    from hepxai.io.lock import lock_folder
    from hepxai.models.checkpoint import (
        model_from_state,
        read_checkpoint,
        training_features,
        training_selection,
    )

    unknown = [name for name in args.methods or () if name not in METHODS]
    if unknown:
        msg = f"--methods: unknown method '{unknown[0]}' (valid: {', '.join(METHODS)})"
        raise InputError(msg)
    content = read_checkpoint(args.model)
    model = model_from_state(content, args.model)
    schema = resolve_schema(args.data, args.schema).subset(training_features(content))
    selection = resolve_selection(args.selection, schema, trained=training_selection(content))
    log.info("jet selection: %s (%s)", selection, describe_selection(selection))
    own_models = {}
    if args.lri_model is not None:
        from hepxai.lri.jets import KeepProbability, load_lri_run

        lri_model, objective = load_lri_run(args.lri_model)
        if lri_model.num_features != model.num_features:
            msg = (
                f"{args.lri_model}: takes {lri_model.num_features} track features, "
                f"{args.model} takes {model.num_features}"
            )
            raise InputError(msg)
        own_models["lri_bernoulli"] = OwnModel(lri_model, KeepProbability(lri_model, objective))
    settings = {
        "methods": args.methods,
        "batch_size": args.chunk_size,
        "deletion_steps": args.deletion_steps,
        "seed": args.seed,
        "score_features": args.score_features,
        "own_models": own_models,
        "target": args.target,
        "walks": args.walks,
        "progress": args.progress,
    }
    with lock_folder(args.out):  # a second run into this folder stops at once
        if args.workers == 1 and args.scheduler is None:
            jets = read_signal_jets(
                args.data,
                schema=schema,
                selection=selection_window(selection),
                max_jets=args.max_jets,
                progress=args.progress,
            )
            result = run_benchmark(model, jets, **settings)
        else:  # tasks of whole batches on the engine: the same table
            from hepxai.benchmark_parts import benchmark_files

            result = benchmark_files(
                model,
                args.data,
                schema,
                selection=selection,
                max_jets=args.max_jets,
                workers=args.workers,
                scheduler=args.scheduler,
                **settings,
            )
        command = _command(args)
        result = dataclasses.replace(result, selection=f"{selection} ({describe_selection(selection)})")
        for path in write_benchmark(result, args.out, command=command):
            log.info("wrote %s", path)
        if args.results is not None:
            log.info("wrote %s", write_results(result, args.results, model=str(args.model)))
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run, for the table's caption (without --workers and
    --scheduler: they do not change the table)."""
    words = [
        "hepxai",
        "benchmark",
        "--model",
        str(args.model),
        "--data",
        *map(str, args.data),
        "--out",
        str(args.out),
    ]
    if args.max_jets is not None:
        words += ["--max-jets", str(args.max_jets)]
    if args.methods is not None:
        words += ["--methods", *args.methods]
    if args.score_features is not None:
        words += ["--score-features", *args.score_features]
    if args.lri_model is not None:
        words += ["--lri-model", str(args.lri_model)]
    for flag, value, default in (
        ("--schema", args.schema, "auto"),
        ("--selection", args.selection, "model"),
        ("--chunk-size", args.chunk_size, 256),
        ("--deletion-steps", args.deletion_steps, 10),
        ("--seed", args.seed, 0),
        ("--target", args.target, "H"),
        ("--walks", args.walks, 3),
    ):
        if value != default:
            words += [flag, str(value)]
    return shlex.join(words)
