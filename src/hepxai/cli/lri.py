"""``hepxai lri {train,benchmark,figures}``: the LRI comparison on point-set dataset folders."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments
from hepxai.errors import InputError

log = logging.getLogger(__name__)

_METHODS_HELP = (
    "erm, lri_bernoulli, lri_gaussian (the paper: learned distance weights), lri_gaussian_unweighted "
    "(the authors' code), lri_gaussian_fixed_graph (the ablation: no graph rebuild), pointmask, gradgeo, "
    "gradgam, bernmask, bernmask_p, lrp_epsilon, gradient_x_input"
)
_DESCRIPTION = """\
Learnable randomness injection (LRI) and its baselines on point-set datasets with per-point truth
(dataset.yaml of kind actstrack, synmol or synthetic). Each (dataset, backbone, method, seed) run lives in
OUT/<dataset>/<backbone>/<method>/seed<S>: the training run (config.yaml, last.pt, best.pt with the noise
generator) and result.yaml. Finished runs are skipped, interrupted trainings resume. The model kept is
the epoch with the best validation prediction AUC; interpretation is scored on the positive test samples
(interpretation ROC AUC over their points, precision@k per sample), prediction AUC on the whole test split.
Post-hoc methods explain the ERM run of the same dataset, backbone and seed (trained first if missing).
The budget is a --preset: quick (the default) finishes in minutes per run, paper is the LRI paper's
(300 epochs, BernMask 500 steps, BernMask-P 100 epochs, seeds 0 1 2: days on a laptop); an option given
explicitly overrides the preset's value. The number of runs and epochs is logged before training starts."""

# The budget of each preset; --epochs, --mask-steps, --mask-epochs and --seeds override it when given.
PRESETS = {
    "quick": {"epochs": 20, "mask_steps": 100, "mask_epochs": 10, "seeds": [0]},
    "paper": {"epochs": 300, "mask_steps": 500, "mask_epochs": 100, "seeds": [0, 1, 2]},
}


def register(commands: argparse._SubParsersAction) -> None:
    lri = commands.add_parser("lri", help="LRI and its baselines on point clouds with ground truth")
    actions = lri.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train (or resume) and score one run",
        description=_DESCRIPTION,
        formatter_class=arguments.formatter(),
    )
    _add_one_method(train, method=None)
    _add_preset(train)
    _add_common(train)
    train.set_defaults(run=run_train, malloc_policy="reuse")

    benchmark = actions.add_parser(
        "benchmark",
        help="every dataset x backbone x method x seed, and the table of means over seeds",
        description=_DESCRIPTION + " Then writes the table of every finished run under --out (one row per "
        "dataset, backbone and method, means and standard deviations over seeds) as CSV, so that several "
        "invocations on one --out (e.g. all methods on one backbone, a few on others) make one table.",
        formatter_class=arguments.formatter(),
    )
    benchmark.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help="folders")
    benchmark.add_argument("--backbones", nargs="+", default=["dgcnn"], metavar="KIND", help="model kinds")
    benchmark.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help=f"default: all but the ablation: {_METHODS_HELP}",
    )
    benchmark.add_argument(
        "--seeds", type=int, nargs="+", default=None, metavar="S", help="seeds (default: the preset's)"
    )
    _add_preset(benchmark)
    benchmark.add_argument(
        "--results", type=Path, default=Path("results/lri.csv"), metavar="CSV", help="the table to write"
    )
    benchmark.add_argument(
        "--table-only", action="store_true", help="write the table of the finished runs, run nothing"
    )
    _add_common(benchmark)
    benchmark.set_defaults(run=run_benchmark, malloc_policy="reuse")

    figures = actions.add_parser(
        "figures",
        help="interpretation ROC curves, event displays and molecules from the runs' stored scores",
        description="Read the scores.pt of every finished run of each --data folder (RUNS/<folder name>/"
        "<backbone>/<method>/seed<S>) and write, per dataset and backbone, into "
        "FIGDIR/<dataset>/<backbone>/: "
        "roc.png (interpretation ROC curve of each method over the points of the positive test samples, "
        "AUC in the legend, the --seed runs pooled); for ActsTrack and synthetic clouds "
        "display_<method>_sample<i>.png (the first --samples positive test samples in x-y, x-y zoomed on "
        "the inner hits, and r-z, points coloured by their importance rank within the sample, true points "
        "ringed, LRI-Gaussian's noise "
        "covariance as 1-sigma ellipses); for SynMol molecule_<method>_sample<i>.png and molecules.png "
        "(RDKit depictions, atoms coloured by importance rank, true atoms ringed). Displays and molecules "
        "show the first --seed that has runs. Nothing is recomputed: the figures show the scores that "
        "result.yaml was computed from.",
        formatter_class=arguments.formatter(),
    )
    figures.add_argument("--runs", type=Path, required=True, metavar="RUNS", help="folder of all runs")
    figures.add_argument(
        "--data", type=Path, nargs="+", required=True, metavar="DIR", help="dataset folders the runs used"
    )
    figures.add_argument("--out", type=Path, required=True, metavar="FIGDIR", help="figure folder")
    figures.add_argument(
        "--seed", type=int, nargs="+", default=[0], metavar="S", help="seeds (ROC curves pool them)"
    )
    figures.add_argument(
        "--samples", type=int, default=3, metavar="N", help="positive test samples to draw per method"
    )
    figures.add_argument(
        "--methods", nargs="+", default=None, metavar="METHOD", help="only these (default: all with scores)"
    )
    figures.add_argument("--dpi", type=int, default=150, help="resolution of the matplotlib figures")
    figures.set_defaults(run=run_figures)

    tune = actions.add_parser(
        "tune",
        help="the paper's tuning grid of one method (beta, alpha, c) on validation prediction AUC",
        description="Every combination of --betas, --alphas (LRI-Bernoulli) and --scales (LRI-Gaussian's c "
        "on stored positions) as one run of the protocol of 'hepxai lri train' (RUNS/<dataset>/<backbone>/"
        "<method>-beta<B>[-alpha<A>][-c<C>]/seed<S>, all warm-started from one ERM run), then one row per "
        "setting into --results (rows of the same dataset, backbone, method, seed and epochs replaced); "
        "'selected' marks the best validation prediction AUC, as the LRI paper chose (appendix E.1). The "
        "test metrics are reported beside it, never used to choose. Resumable: run the same command again.",
        formatter_class=arguments.formatter(),
    )
    _add_one_method(tune, method="lri_gaussian")
    tune.add_argument(
        "--betas",
        type=float,
        nargs="+",
        default=[1.0, 0.1, 0.01],
        metavar="B",
        help="weights of the info term",
    )
    tune.add_argument(
        "--alphas", type=float, nargs="+", default=[], metavar="A", help="LRI-Bernoulli's final prior alpha"
    )
    tune.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[],
        metavar="C",
        help="LRI-Gaussian's c (paper: 200 300 on ActsTrack, 10 15 on SynMol)",
    )
    tune.add_argument(
        "--final-epochs",
        type=int,
        default=None,
        metavar="N",
        help="then train the selected setting again for N epochs (the paper: 300; ERM too, in "
        "RUNS/epochs<N>) and add its row",
    )
    tune.add_argument(
        "--results", type=Path, default=Path("results/lri_tuning.csv"), metavar="CSV", help="the table"
    )
    _add_preset(tune)
    _add_common(tune)
    tune.set_defaults(run=run_tune, malloc_policy="reuse")

    fieldscan = actions.add_parser(
        "fieldscan",
        help="LRI-Gaussian's Sigma against the field B: track directions, eigen-ratio (Table 3, Fig. 3)",
        description="Per field B: an ActsTrack-like dataset DATA/B<B>T (made if missing), then the LRI "
        "paper's appendix E.2 protocol on DGCNN (features r/|r|, dropout 0): f trained first, then g (its "
        "own encoder, a 2x2 x-y covariance, beta 10, c 100) while f is fine-tuned at lr 1e-8, in "
        "RUNS/B<B>T/{f,g}. Then per true point of the positive test samples the angle between the particle "
        "direction and Sigma's first principal component, GradGeo's gradient, the radial direction and a "
        "random axis (45), also for the lowest-pT quartile, and Sigma's eigen-ratio; the table (CSV + "
        "provenance) and a figure with the line-through-origin fit of the eigen-ratio against B. "
        "Resumable: run the same command again.",
        formatter_class=arguments.formatter(),
    )
    fieldscan.add_argument(
        "--fields",
        type=float,
        nargs="+",
        default=[2.0, 6.0, 10.0, 14.0, 20.0],
        metavar="B",
        help="fields in T",
    )
    fieldscan.add_argument("--data", type=Path, required=True, metavar="DATA", help="folder of the datasets")
    fieldscan.add_argument("--out", type=Path, required=True, metavar="RUNS", help="folder of the runs")
    fieldscan.add_argument(
        "--results", type=Path, default=Path("results/lri_fieldscan.csv"), metavar="CSV", help="the table"
    )
    fieldscan.add_argument("--figure", type=Path, default=None, metavar="PNG", help="the figure (optional)")
    fieldscan.add_argument("--f-epochs", type=int, default=20, help="epochs of the classifier f (paper: 100)")
    fieldscan.add_argument("--g-epochs", type=int, default=40, help="epochs of the generator g (paper: 500)")
    fieldscan.add_argument("--samples", type=int, default=3241, help="samples per dataset (paper: 3241)")
    fieldscan.add_argument("--beta", type=float, default=10.0, help="weight of g's KL term (paper: 10)")
    fieldscan.add_argument("--seed", type=int, default=0, help="seed of data and training")
    fieldscan.add_argument("--workers", type=int, default=1, help="processes making a dataset")
    fieldscan.set_defaults(run=run_fieldscan, malloc_policy="reuse")


def _add_one_method(parser: argparse.ArgumentParser, method: str | None) -> None:
    """The dataset, backbone, method (required when ``method`` is ``None``) and seed of one method's runs."""
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="dataset folder")
    parser.add_argument("--backbone", default="dgcnn", help="a registered model kind")
    parser.add_argument("--method", required=method is None, default=method, help=f"one of {_METHODS_HELP}")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def _add_preset(parser: argparse.ArgumentParser) -> None:
    budgets = "; ".join(
        f"{name}: {p['epochs']} epochs, mask steps {p['mask_steps']}, mask epochs {p['mask_epochs']}, "
        f"seeds {' '.join(map(str, p['seeds']))}"
        for name, p in PRESETS.items()
    )
    parser.add_argument("--preset", choices=tuple(PRESETS), default="quick", help=f"the budget ({budgets})")


def _apply_preset(args: argparse.Namespace) -> None:
    """Fill the budget options left unset from ``--preset`` (an explicit option wins)."""
    for field, value in PRESETS[args.preset].items():
        if hasattr(args, field) and getattr(args, field) is None:
            setattr(args, field, value)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="RUNS", help="folder of all runs")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of every trained method, warm-up included (default: the preset's)",
    )
    parser.add_argument(
        "--top-k",
        type=int,
        nargs=2,
        default=None,
        metavar=("K1", "K2"),
        help="precision@k (default: the dataset kind's: actstrack 12 24, synmol 5 8, synthetic 4 6)",
    )
    parser.add_argument(
        "--position-scale",
        type=float,
        default=None,
        metavar="C",
        help="LRI-Gaussian's c on stored positions (default: the dataset kind's)",
    )
    parser.add_argument(
        "--beta", type=float, default=None, help="weight of the info term (default: the authors' setting)"
    )
    parser.add_argument(
        "--alpha", type=float, default=None, help="LRI-Bernoulli's final prior alpha (default: the authors')"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--batch-size", type=int, default=128, help="graphs per training batch")
    parser.add_argument(
        "--mask-epochs", type=int, default=None, help="BernMask-P's training epochs (default: the preset's)"
    )
    parser.add_argument(
        "--mask-steps", type=int, default=None, help="BernMask's steps per sample (default: the preset's)"
    )
    parser.add_argument(
        "--test-data",
        type=Path,
        default=None,
        metavar="DIR",
        help="validate and test on this dataset folder's splits (a distribution shift; runs in "
        "RUNS/<data>-on-<test data>/...)",
    )
    parser.add_argument(
        "--valid-data",
        type=Path,
        default=None,
        metavar="DIR",
        help="validate (choose the epoch) on this dataset folder's valid split instead, as the LRI paper's "
        "Table 5 (train on 10 tracks, validate on 25, test on 40; runs in RUNS/<data>-valid-<valid data>-on-"
        "<test data>/...)",
    )
    parser.add_argument(
        "--recompute-batchnorm",
        action="store_true",
        help="set the backbone's BatchNorm statistics to their average over the training set after every "
        "epoch, instead of running averages of the last batches (recommended for Point Transformer and EGNN)",
    )


def _options(args: argparse.Namespace) -> dict:
    _apply_preset(args)
    for option, value in (("--epochs", args.epochs), ("--mask-epochs", args.mask_epochs)):
        arguments.require_at_least(option, value, 1)
    arguments.require_at_least("--mask-steps", args.mask_steps, 1)
    arguments.require_at_least("--batch-size", args.batch_size, 2)
    if args.top_k is not None:
        arguments.require_at_least("--top-k", min(args.top_k), 1)
    shifts = {"test dataset folder": args.test_data, "validation dataset folder": args.valid_data}
    for name, folder in shifts.items():
        if folder is not None:
            arguments.require_existing(name, [folder])
    return {
        "epochs": args.epochs,
        "top_k": tuple(args.top_k) if args.top_k else None,
        "scale": args.position_scale,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "mask_epochs": args.mask_epochs,
        "mask_steps": args.mask_steps,
        "recompute_batchnorm": args.recompute_batchnorm,
        "test_data": args.test_data,
        "valid_data": args.valid_data,
        "beta": args.beta,
        "alpha": args.alpha,
    }


def run_train(args: argparse.Namespace) -> int:
    options = _options(args)
    arguments.require_existing("dataset folder", [args.data])

    from hepxai.lri.protocol import RunSpec, run

    spec = RunSpec(args.data, args.backbone, args.method, args.seed, **options)
    log.info("1 run of up to %d epochs (--preset %s)", args.epochs, args.preset)
    result = run(spec, args.out, progress=args.progress)
    interp = "n/a" if result["interp_auc"] is None else f"{result['interp_auc']:.4f}"
    print(  # noqa: T201
        f"{spec.folder(args.out)}: interp_auc {interp}, prediction AUC {result['pred_auc']:.4f}"
    )
    return 0


def run_benchmark(args: argparse.Namespace) -> int:
    options = _options(args)
    arguments.require_existing("dataset folder", args.data)

    from hepxai.lri.methods import COMPARISON
    from hepxai.lri.protocol import run_grid
    from hepxai.lri.table import write_table

    if not args.table_only:
        methods = args.methods or list(COMPARISON)
        runs = len(args.data) * len(args.backbones) * len(methods) * len(args.seeds)
        log.info(
            "%d runs (%d datasets x %d backbones x %d methods x %d seeds) of up to %d epochs each "
            "(--preset %s); finished runs are skipped",
            runs,
            len(args.data),
            len(args.backbones),
            len(methods),
            len(args.seeds),
            args.epochs,
            args.preset,
        )
        run_grid(
            args.data,
            args.backbones,
            methods,
            args.seeds,
            args.out,
            progress=args.progress,
            **options,
        )
    table = write_table(args.out, args.results)
    log.info("wrote %d rows to %s", len(table), args.results)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.4f}"))  # noqa: T201
    return 0


def run_tune(args: argparse.Namespace) -> int:
    options = _options(args)
    arguments.require_existing("dataset folder", [args.data])
    for option, values in (("--betas", args.betas), ("--alphas", args.alphas), ("--scales", args.scales)):
        if values and min(values) <= 0:
            msg = f"{option}: values must be positive, got {min(values):g}"
            raise InputError(msg)
    if any(options.pop(name) is not None for name in ("beta", "alpha", "scale")):
        msg = "--beta, --alpha and --position-scale are the grid's here: give --betas, --alphas, --scales"
        raise InputError(msg)
    arguments.require_at_least("--final-epochs", args.final_epochs, 1)

    import pandas as pd

    from hepxai.lri.methods import check_method
    from hepxai.lri.tuning import grid, selected_setting, tune, write_tuning

    settings = grid(check_method(args.method), args.betas, args.alphas, args.scales)
    log.info(
        "%d settings of %s, up to %d epochs each; finished runs are read",
        len(settings),
        args.method,
        args.epochs,
    )
    run_options = {"seed": args.seed, "progress": args.progress}
    table = tune(args.data, args.backbone, args.method, settings, args.out, **run_options, **options)
    write_tuning(table, args.results)
    if args.final_epochs is not None:  # the chosen setting again, at the longer budget
        options["epochs"] = args.final_epochs
        best = [selected_setting(table)]
        longer = args.out / f"epochs{args.final_epochs}"  # its own ERM run, of the longer budget too
        final = tune(args.data, args.backbone, args.method, best, longer, **run_options, **options)
        write_tuning(final, args.results)
        table = pd.concat([table, final], ignore_index=True)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.4f}"))  # noqa: T201
    return 0


def run_figures(args: argparse.Namespace) -> int:
    arguments.require_at_least("--samples", args.samples, 1)
    arguments.require_at_least("--dpi", args.dpi, 10)
    arguments.require_existing("runs folder", [args.runs])
    arguments.require_existing("dataset folder", args.data)

    from hepxai.lri.figures import write_figures

    written = write_figures(
        args.runs,
        args.data,
        args.out,
        seeds=args.seed,
        samples=args.samples,
        methods=args.methods,
        dpi=args.dpi,
        progress=args.progress,
    )
    log.info("wrote %d figures under %s", len(written), args.out)
    return 0


def run_fieldscan(args: argparse.Namespace) -> int:
    from hepxai.lri.fieldscan import FieldScanSettings, eigen_ratio_fit, eigen_ratio_power_fit, scan

    for option, value in (
        ("--f-epochs", args.f_epochs),
        ("--g-epochs", args.g_epochs),
        ("--workers", args.workers),
    ):
        arguments.require_at_least(option, value, 1)
    arguments.require_at_least("--samples", args.samples, 20)
    settings = FieldScanSettings(
        f_epochs=args.f_epochs, g_epochs=args.g_epochs, samples=args.samples, seed=args.seed, beta=args.beta
    )
    table = scan(
        args.fields,
        args.data,
        args.out,
        args.results,
        settings,
        figure=args.figure,
        workers=args.workers,
        progress=args.progress,
    )
    fit = eigen_ratio_fit(table)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.3f}"))  # noqa: T201
    print(f"eigen-ratio = {fit.slope:.4g} * B, R^2 = {fit.r_squared:.3f}")  # noqa: T201
    power = eigen_ratio_power_fit(table)
    print(  # noqa: T201
        f"eigen-ratio = {power.prefactor:.4g} * B^{power.exponent:.3f}, R^2 (log-log) = {power.r_squared:.3f}"
    )
    return 0
