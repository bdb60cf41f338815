"""``hepxai train`` and ``hepxai evaluate``."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hepxai.cli import arguments
from hepxai.errors import InputError

if TYPE_CHECKING:
    from hepxai.config import RunConfig

log = logging.getLogger(__name__)

# Command-line flag -> (config section, key). Flags left out keep the value of --config or the default.
_OVERRIDES = {
    "data": ("data", "files"),
    "schema": ("data", "schema"),
    "selection": ("data", "selection"),
    "max_jets": ("data", "max_jets"),
    "hidden": ("model", "hidden"),
    "epochs": ("train", "epochs"),
    "lr": ("train", "lr"),
    "batch_size": ("train", "batch_size"),
    "validation_fraction": ("train", "validation_fraction"),
    "patience": ("train", "patience"),
    "seed": ("train", "seed"),
    "reweight_pt": ("train", "reweight_pt"),
    "fused": ("train", "fused"),
    "stream": ("train", "stream"),
    "shuffle_buffer": ("train", "shuffle_buffer"),
}


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train the Interaction Network on ROOT files",
        formatter_class=arguments.formatter(),
        description="Train the HIN. Writes OUT/config.yaml (resolved settings and data files), OUT/last.pt "
        "(after every epoch, with the optimizer state for --resume) and OUT/best.pt (lowest "
        "validation loss). Flags override --config; unset flags show the built-in defaults.",
    )
    train.argument_default = argparse.SUPPRESS
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder")
    train.add_argument("--config", type=Path, help="YAML run config (sections data, model, train)")
    train.add_argument(
        "--resume",
        action="store_true",
        default=False,
        help="continue the run in OUT from last.pt; without --data or --config, "
        "its settings are read from OUT/config.yaml",
    )
    add_train_arguments(train)
    train.add_argument("--data", nargs="+", metavar="FILE", help="ROOT files of jets")
    add_data_model_arguments(train)
    train.add_argument("--max-jets", type=int, metavar="N", help="read at most N jets (default: all)")
    train.add_argument(
        "--reweight-pt",
        action=argparse.BooleanOptionalAction,
        help="weight QCD jets to the signal's fj_pt spectrum (default: off)",
    )
    train.add_argument(
        "--lri",
        action="store_true",
        default=False,
        help="train with LRI-Bernoulli: a learned keep-probability per track masks messages and pooling "
        "during training (OUT/method.yaml; hepxai benchmark --lri-model scores it)",
    )
    train.add_argument(
        "--fused",
        action=argparse.BooleanOptionalAction,
        help="train with the fused forward pass, same function, faster (default: on)",
    )
    train.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        help="read the jets piece by piece through a shuffle buffer instead of all at once: memory set by "
        "--shuffle-buffer, not by the data; its own split and order (default: off)",
    )
    train.add_argument(
        "--shuffle-buffer",
        type=int,
        metavar="N",
        help="jets held for shuffling with --stream (default: 10000)",
    )
    train.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="data-parallel processes on this machine (DistributedDataParallel, gloo), each with its part "
        "of every minibatch and cores/N threads; under torchrun leave it out",
    )
    train.set_defaults(run=run_train, malloc_policy="reuse")

    evaluate = commands.add_parser(
        "evaluate",
        help="ROC AUC, background rejection and plots for a checkpoint",
        formatter_class=arguments.formatter(),
        description="Score jets with a checkpoint. Writes OUT/metrics.yaml (AUC, background rejection "
        "at 30% and 50% H efficiency, for the HIN and the baselines), OUT/predictions.h5 (per jet), "
        "OUT/roc.png and, with fj_sdmass, OUT/mass_sculpting.png.",
    )
    evaluate.add_argument(
        "--model",
        type=Path,
        required=True,
        metavar="CHECKPOINT",
        help="checkpoint: best.pt/last.pt of a run, or an original HIN state dict (.npz/.pth)",
    )
    evaluate.add_argument("--data", nargs="+", type=Path, required=True, metavar="FILE", help="ROOT files")
    evaluate.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    evaluate.add_argument("--schema", default="auto", help="cms_hbb, sanity, a schema YAML file, or auto")
    evaluate.add_argument(
        "--selection",
        choices=["model", "auto", "original", "none"],
        default="model",
        help="jet selection: model = the one the model was trained with (auto for checkpoints that do not "
        "store it, such as the original HIN); otherwise as for train",
    )
    evaluate.add_argument("--max-jets", type=int, metavar="N", help="read at most N jets (default: all)")
    evaluate.add_argument(
        "--sculpting-qcd-efficiency",
        type=float,
        default=0.1,
        help="QCD efficiency of the score cut in the mass-sculpting plot (enough QCD jets pass for a shape)",
    )
    evaluate.add_argument(
        "--no-baselines", action="store_true", help="skip the soft-drop mass and boosted-tree baselines"
    )
    evaluate.add_argument(
        "--seed", type=int, default=0, help="seed of the boosted tree's folds and the AUC bootstrap"
    )
    evaluate.add_argument(
        "--chunk-size", type=int, default=256, metavar="N", help="jets scored at once (memory grows with it)"
    )
    evaluate.add_argument("--batch-size", type=int, dest="chunk_size", help=argparse.SUPPRESS)  # old name
    arguments.add_engine_arguments(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def add_train_arguments(parser: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """The training-loop flags, shared with ``hepxai sanity train``; unset, they keep the config's value.

    Args:
        parser: The command's parser.
        defaults: The command's own defaults (e.g. the demo's shorter run), shown in the help instead of
            the config's.
    """
    from hepxai.config import TrainConfig

    shown = {**dataclasses.asdict(TrainConfig()), **(defaults or {})}
    parser.argument_default = argparse.SUPPRESS
    parser.add_argument("--epochs", type=int, help=f"maximum epochs (default: {shown['epochs']})")
    parser.add_argument("--lr", type=float, help=f"Adam learning rate (default: {shown['lr']:g})")
    parser.add_argument("--batch-size", type=int, help=f"jets per minibatch (default: {shown['batch_size']})")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        help=f"share of jets for validation (default: {shown['validation_fraction']})",
    )
    parser.add_argument(
        "--patience",
        type=int,
        help=f"early stopping: epochs without a lower validation loss (default: {shown['patience']})",
    )
    parser.add_argument(
        "--seed", type=int, help=f"seeds split, initial weights, batch order (default: {shown['seed']})"
    )


def add_data_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--schema``, ``--selection`` and ``--hidden``, shared by ``train`` and ``all``; unset, they keep the
    config's value."""
    parser.add_argument(
        "--schema",
        default=argparse.SUPPRESS,
        help="cms_hbb, sanity, a schema YAML file, or auto (default: auto)",
    )
    parser.add_argument(
        "--selection",
        choices=["auto", "original", "none"],
        default=argparse.SUPPRESS,
        help="original: 40 < m_SD < 200 GeV, 300 < pT < 2000 GeV; auto applies it when the "
        "schema has those spectators (default: auto)",
    )
    parser.add_argument(
        "--hidden",
        type=int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="hidden width of every MLP (default: 128)",
    )


def resolve_config(args: argparse.Namespace, base: Path | None) -> RunConfig:
    """The run config: ``base`` YAML (or the defaults), then every flag that was given."""
    from hepxai.config import RunConfig, config_from_dict, config_to_dict, load_config

    raw = config_to_dict(load_config(base) if base is not None else RunConfig())
    for flag, (section, key) in _OVERRIDES.items():
        value = getattr(args, flag, None)
        if value is not None:
            raw[section][key] = [str(v) for v in value] if flag == "data" else value
    return config_from_dict(raw, source=str(base) if base is not None else "command line")


def run_train(args: argparse.Namespace) -> int:
    base = getattr(args, "config", None)
    if args.resume and base is None and not hasattr(args, "data"):
        base = args.out / "config.yaml"
    config = resolve_config(args, base)
    arguments.require_existing("file", config.data.files)
    nproc = getattr(args, "nproc", 1)  # hepxai sanity train trains in one process
    arguments.require_at_least("--nproc", nproc, 1)
    if config.train.batch_size < nproc:
        msg = f"--batch-size {config.train.batch_size} is below --nproc {nproc} (a jet per process)"
        raise InputError(msg)
    lri = getattr(args, "lri", False)  # hepxai sanity train has no --lri
    if lri and (nproc > 1 or config.train.stream):
        msg = "--lri trains in one process, in memory: drop --nproc or --stream"
        raise InputError(msg)

    from hepxai.distributed import launch
    from hepxai.training import train_files

    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)  # "terminating process 2"
    setup = functools.partial(_worker_setup, logging.getLogger().level)
    if lri:
        from hepxai.lri.jets import train_lri

        train_lri(config, args.out, resume=args.resume, progress=args.progress)
        return 0
    if args.resume:
        from hepxai.lri.jets import check_plain_run

        check_plain_run(args.out)
    launch(train_files, config, args.out, args.resume, args.progress, nproc=nproc, setup=setup)
    return 0


def _worker_setup(level: int, rank: int) -> None:
    """A spawned training process: the command's logging (warnings only beside the main process) and
    allocation policy."""
    from hepxai.cli.malloc import set_malloc_policy

    logging.basicConfig(
        level=level if rank == 0 else max(level, logging.WARNING),
        format=f"%(levelname)s %(name)s [{rank}]: %(message)s",
        force=True,
    )
    set_malloc_policy("reuse")


def run_evaluate(args: argparse.Namespace) -> int:
    if not 0 < args.sculpting_qcd_efficiency <= 1:
        msg = f"--sculpting-qcd-efficiency must be in (0, 1] (got {args.sculpting_qcd_efficiency})"
        raise InputError(msg)
    arguments.require_at_least("--max-jets", args.max_jets, 1)
    arguments.require_at_least("--chunk-size", args.chunk_size, 1)
    arguments.require_existing("checkpoint", [args.model])
    arguments.require_existing("file", args.data)

    from hepxai.config import DataConfig
    from hepxai.evaluation import evaluate
    from hepxai.models.checkpoint import (
        model_from_state,
        read_checkpoint,
        training_features,
        training_selection,
    )
    from hepxai.training import stream_data

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    content = read_checkpoint(args.model)
    model = model_from_state(content, args.model).eval()
    selection = args.selection
    if selection == "model":  # the jets the model was trained on, as explain and benchmark do
        selection = training_selection(content) or "auto"
    data = DataConfig(
        files=tuple(str(p) for p in args.data),
        schema=args.schema,
        selection=selection,
        max_jets=args.max_jets,
        features=training_features(content),
    )
    arguments.require_at_least("--workers", args.workers, 1)
    if args.workers == 1 and args.scheduler is None:
        jets, data = stream_data(data, progress=args.progress)
    else:  # scored as tasks on the engine, one per entry range
        from hepxai.evaluation import score_files
        from hepxai.training import resolve_data

        schema, data = resolve_data(data)
        jets = score_files(
            model,
            args.data,
            schema,
            selection=data.selection,
            max_jets=args.max_jets,
            batch_size=args.chunk_size,
            with_quantities=not args.no_baselines,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=args.progress,
        )
    source = str(args.data[0]) if len(args.data) == 1 else f"{len(args.data)} files"
    results = evaluate(
        model,
        jets,
        args.out,
        source=source,
        sculpting_qcd_efficiency=args.sculpting_qcd_efficiency,
        with_baselines=not args.no_baselines,
        seed=args.seed,
        batch_size=args.chunk_size,
        progress=args.progress,
    )
    log.info("wrote %s (HIN AUC %.4f)", args.out / "metrics.yaml", results[0].auc)
    return 0
