"""``hepxai demo``, ``hepxai all`` and ``hepxai sanity ...``: the whole chain in one command."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hepxai.cli import arguments, data, explain, train

if TYPE_CHECKING:
    from hepxai.explain.sanity import SanityResult

log = logging.getLogger(__name__)

# 2,000 training jets: measured through the tracker with pile-up they cost ~3 times the CPU of the resolution
# model's (docs/simulation.md), so the demo stays within minutes on 2 cores
_DEMO = {
    "signal": 1000,
    "background": 1000,
    "test_signal": 300,
    "test_background": 300,
    "explain_jets": 600,
    "report_jets": 5,
}
_DEMO_TRAINING = {"epochs": 8, "lr": 1e-3}  # a short run with a faster rate, so the demo takes minutes
_SANITY_TRAINING = {"epochs": 10}
_ALL = {
    "signal": 10_000,
    "background": 10_000,
    "test_signal": 1000,
    "test_background": 1000,
    "explain_jets": 1000,
    "report_jets": 5,
}


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="the main job on an embedded default: simulate, train, explain, plot, report",
        formatter_class=arguments.formatter(),
        description="Simulate a few thousand H->bb and QCD jets (Pythia 8 + FastJet), train the HIN, "
        "evaluate "
        "it, explain held-out jets with LRP and write plots and an HTML report to OUT. Simulated files "
        "already in OUT are reused. Training is shorter than hepxai train's (see --epochs, --lr).",
    )
    _add_chain_arguments(demo, _DEMO, default_out=Path("demo"), training=_DEMO_TRAINING)
    demo.set_defaults(run=run_all, training_defaults=_DEMO_TRAINING)

    everything = commands.add_parser(
        "all",
        help="data -> train -> evaluate -> explain -> plot -> report",
        formatter_class=arguments.formatter(),
        description="The whole chain on your ROOT files (--data, --test-data) or, without --data, on jets "
        "simulated first. Writes OUT/model, OUT/evaluation, OUT/relevance.h5, OUT/plots, OUT/report.html.",
    )
    _add_chain_arguments(everything, _ALL, default_out=Path("runs/all"))
    train.add_data_model_arguments(everything)
    everything.add_argument("--data", nargs="+", type=Path, metavar="FILE", help="training ROOT files")
    everything.add_argument(
        "--test-data",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="ROOT files to evaluate and explain (default: the training files)",
    )
    everything.set_defaults(run=run_all)

    sanity = commands.add_parser(
        "sanity", help="the sanity check: synthetic jets where only f0 and f3 matter"
    )
    steps = sanity.add_subparsers(dest="step", metavar="STEP", required=True)
    _register_sanity_steps(steps)


def _add_chain_arguments(
    parser: argparse.ArgumentParser, defaults: dict, *, default_out: Path, training: dict | None = None
) -> None:
    parser.add_argument("--out", type=Path, default=default_out, metavar="DIR", help="output folder")
    parser.add_argument("--signal", type=int, metavar="N", help="simulated H->bb training jets")
    parser.add_argument("--background", type=int, metavar="N", help="simulated QCD training jets")
    parser.add_argument("--test-signal", type=int, metavar="N", help="simulated H->bb test jets")
    parser.add_argument("--test-background", type=int, metavar="N", help="simulated QCD test jets")
    arguments.add_workers_argument(parser, "simulation processes")
    parser.add_argument("--explain-jets", type=int, metavar="N", help="test jets to explain")
    parser.add_argument(
        "--report-jets", type=int, metavar="N", help="jets per class drawn in the plots and report"
    )
    parser.add_argument("--target", choices=["H", "QCD", "H-QCD"], default="H", help="logit to explain")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baseline taggers")
    train.add_train_arguments(parser, training)
    parser.set_defaults(**defaults)


def run_all(args: argparse.Namespace) -> int:
    train_files = getattr(args, "data", None)
    test_files = getattr(args, "test_data", None)
    arguments.require_existing("file", [*(train_files or ()), *(test_files or ())])
    arguments.require_at_least("--workers", args.workers, 1)

    from hepxai.data.simulate import simulate
    from hepxai.pipeline import run_chain

    if not train_files:
        train_files = [
            _simulated(
                simulate,
                args.out / "simulated_train.root",
                args.signal,
                args.background,
                getattr(args, "seed", 0),
                args,
            )
        ]
        test_files = test_files or [
            _simulated(
                simulate,
                args.out / "simulated_test.root",
                args.test_signal,
                args.test_background,
                getattr(args, "seed", 0) + 1000,
                args,
            )
        ]
    elif not test_files:
        log.warning("no --test-data: evaluating and explaining the training files")
        test_files = train_files
    args.data = None
    config = _resolve_config(args)
    result = run_chain(
        list(train_files),
        list(test_files),
        args.out,
        config,
        explain_jets=args.explain_jets,
        report_jets=args.report_jets,
        target=args.target,
        with_baselines=not args.no_baselines,
        progress=args.progress,
    )
    _print_summary(result)
    return 0


def _resolve_config(args: argparse.Namespace):
    """The run config from the training flags, with this command's own defaults for flags not given."""
    for key, value in getattr(args, "training_defaults", {}).items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return train.resolve_config(args, None)


def _simulated(
    simulate, path: Path, signal: int, background: int, seed: int, args: argparse.Namespace
) -> Path:
    if path.is_file():
        log.info("reusing %s", path)
        return path
    return simulate(
        path,
        num_signal=signal,
        num_background=background,
        seed=seed,
        workers=args.workers,
        progress=args.progress,
    )


def _print_summary(result) -> None:
    from hepxai.metrics.classification import rejection_text

    lines = [f"{'tagger':<32}{'ROC AUC':>17}{'rej@30% (68% CL)':>22}{'rej@50% (68% CL)':>22}"]
    lines += [
        f"{p.tagger:<32}{f'{p.auc:.4f} ± {p.auc_error:.4f}':>17}"
        f"{rejection_text(p.rejection_at_30, p.rejection_at_30_low, p.rejection_at_30_high):>22}"
        f"{rejection_text(p.rejection_at_50, p.rejection_at_50_low, p.rejection_at_50_high):>22}"
        for p in result.performance
    ]
    lines += [
        "",
        f"model:      {result.checkpoint}",
        f"evaluation: {result.evaluation}",
        f"relevance:  {result.relevance}",
        f"plots:      {result.plots}",
        f"report:     {result.report}",
    ]
    print("\n".join(lines))  # noqa: T201


# --- the sanity check, step by step (the seed's `run.py sc ...`) ----------------------------------------


def _register_sanity_steps(steps: argparse._SubParsersAction) -> None:
    sanity_data = steps.add_parser(
        "data",
        help="write OUT/sanity.root and the held-out OUT/sanity_test.root",
        formatter_class=arguments.formatter(),
    )
    data.add_sanity_arguments(sanity_data)
    sanity_data.set_defaults(run=run_sanity_data)

    sanity_train = steps.add_parser(
        "train",
        help="train the HIN on OUT/sanity.root into OUT/model",
        formatter_class=arguments.formatter(),
        description="Train the HIN on OUT/sanity.root (written first if missing, with --jets and "
        "--data-seed); the run goes to OUT/model.",
    )
    sanity_train.add_argument("--out", type=Path, required=True, help="sanity folder")
    sanity_train.add_argument("--jets", type=int, default=50_000, help="number of jets, if written")
    sanity_train.add_argument("--data-seed", type=int, default=0, help="seed of the jets, if written")
    sanity_train.add_argument("--resume", action="store_true", help="continue the run in OUT/model")
    train.add_train_arguments(sanity_train)
    sanity_train.set_defaults(run=run_sanity_train)

    sanity_explain = steps.add_parser(
        "explain",
        help="explain the held-out sanity jets with LRP, print each feature's share",
        formatter_class=arguments.formatter(),
        description="Explain the held-out sanity jets with LRP and print each feature's share and the "
        "proof's verdict (see docs/lrp.md). Exits with code 1 when the proof fails.",
    )
    sanity_explain.add_argument(
        "--out", type=Path, required=True, help="sanity folder: reads sanity_test.root, writes relevance.h5"
    )
    sanity_explain.add_argument(
        "--model", type=Path, default=None, help="checkpoint (default: OUT/model/best.pt)"
    )
    explain.add_lrp_arguments(sanity_explain)
    sanity_explain.set_defaults(run=run_sanity_explain)

    sanity_plot = steps.add_parser(
        "plot", help="plots and report.html from OUT/relevance.h5", formatter_class=arguments.formatter()
    )
    sanity_plot.add_argument("--out", type=Path, required=True, help="sanity folder")
    sanity_plot.add_argument("--report-jets", type=int, default=5, help="jets per class drawn")
    sanity_plot.set_defaults(run=run_sanity_plot)

    sanity_all = steps.add_parser(
        "all",
        help="data -> train -> explain -> plot, then the feature shares",
        formatter_class=arguments.formatter(),
        description="The sanity proof: synthetic jets, a HIN trained on them, LRP on held-out jets. "
        "A faithful explainer puts the most relevance on f3 (and the next on f0); the proof also needs "
        "the model to classify the held-out jets (ROC AUC >= 0.95), since an untrained model's relevance "
        "lands on f3 too. Exits with code 1 when the proof fails.",
    )
    sanity_all.add_argument("--out", type=Path, required=True, help="sanity folder")
    sanity_all.add_argument(
        "--jets", type=int, default=20_000, help="training jets (and a fifth as many held out)"
    )
    sanity_all.add_argument("--data-seed", type=int, default=0, help="seed of the jets")
    sanity_all.add_argument("--explain-jets", type=int, default=2000, help="held-out jets to explain")
    sanity_all.add_argument("--report-jets", type=int, default=5, help="jets per class drawn")
    train.add_train_arguments(sanity_all, _SANITY_TRAINING)
    sanity_all.set_defaults(run=run_sanity_all, training_defaults=_SANITY_TRAINING)


def _sanity_files(out: Path, jets: int, seed: int, progress: bool) -> tuple[Path, Path]:
    arguments.require_at_least("--jets", jets, 1)

    from hepxai.data.sanity import write_sanity

    files = (out / "sanity.root", out / "sanity_test.root")
    for path, size, file_seed in zip(files, (jets, max(jets // 5, 1)), (seed, seed + 1), strict=True):
        if not path.is_file():
            write_sanity(path, size, seed=file_seed, progress=progress)
    return files


def run_sanity_data(args: argparse.Namespace) -> int:
    for path in _sanity_files(args.out, args.jets, args.seed, args.progress):
        print(path)  # noqa: T201
    return 0


def run_sanity_train(args: argparse.Namespace) -> int:
    train_file, _ = _sanity_files(args.out, args.jets, args.data_seed, args.progress)
    args.data, args.schema = [train_file], "sanity"
    args.out = args.out / "model"
    return train.run_train(args)


def run_sanity_explain(args: argparse.Namespace) -> int:
    test_file = args.out / "sanity_test.root"
    data_file = test_file if test_file.is_file() else args.out / "sanity.root"
    model = args.model or args.out / "model" / "best.pt"
    out = args.out / "relevance.h5"
    path = explain.explain_with_arguments(args, model, [data_file], out, "sanity")
    print(f"wrote {path}")  # noqa: T201

    from hepxai.pipeline import relevance_sanity

    return _report_proof(relevance_sanity(path))


def run_sanity_plot(args: argparse.Namespace) -> int:
    arguments.require_existing("relevance file", [args.out / "relevance.h5"])

    from hepxai.explain.relevance_file import read_relevance_file
    from hepxai.pipeline import showcase_jets
    from hepxai.plots.gallery import write_plots
    from hepxai.plots.report import write_report

    relevance = read_relevance_file(args.out / "relevance.h5")
    jet_ids = showcase_jets(relevance, args.report_jets)
    write_plots(
        relevance,
        args.out / "plots",
        jet_ids=jet_ids,
        top_confident=args.report_jets,
        formats=("png",),
        progress=args.progress,
    )
    report_path, title = args.out / "report.html", "hepxai sanity check"
    report = write_report(
        relevance,
        report_path,
        jet_ids=jet_ids,
        top_confident=args.report_jets,
        title=title,
        progress=args.progress,
    )
    print(report)  # noqa: T201
    return 0


def run_sanity_all(args: argparse.Namespace) -> int:
    from hepxai.pipeline import relevance_sanity, run_chain

    train_file, test_file = _sanity_files(args.out, args.jets, args.data_seed, args.progress)
    args.data, args.schema = None, "sanity"
    config = _resolve_config(args)
    result = run_chain(
        [train_file],
        [test_file],
        args.out,
        config,
        explain_jets=args.explain_jets,
        report_jets=args.report_jets,
        progress=args.progress,
    )
    _print_summary(result)
    print()  # noqa: T201
    return _report_proof(relevance_sanity(result.relevance))


def _report_proof(result: SanityResult) -> int:
    """Print the proof's numbers and verdict; exit code 1 when it fails."""
    print(result.format())  # noqa: T201
    if result.passed:
        return 0
    log.error("sanity proof failed: %s", "; ".join(result.failures))
    return 1
