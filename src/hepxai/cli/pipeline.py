"""``hepxai demo``, ``hepxai all`` and ``hepxai sanity ...``: the whole chain in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepxai import cli
from hepxai.cli import data, train


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="the main job on an embedded default: data, summary, and what exists",
                               formatter_class=cli.formatter())
    demo.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    demo.add_argument("--jets", type=int, default=5_000, help="number of jets")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(run=run_demo)

    everything = commands.add_parser("all", help="data -> train -> explain -> plot -> report",
                                     formatter_class=cli.formatter())
    everything.set_defaults(run=cli.not_available("all"))

    sanity = commands.add_parser("sanity", help="the sanity check: synthetic jets where only f0 and f3 matter")
    steps = sanity.add_subparsers(dest="step", metavar="STEP", required=True)
    sanity_data = steps.add_parser("data", help="write the sanity jets", formatter_class=cli.formatter())
    data.add_sanity_arguments(sanity_data)
    sanity_data.set_defaults(run=data.run_sanity)
    sanity_train = steps.add_parser(
        "train", help="train the HIN on the sanity jets", formatter_class=cli.formatter(),
        description="Train the HIN on OUT/sanity.root (written first if missing, with --jets and "
                    "--data-seed); the run goes to OUT/model.")
    sanity_train.add_argument("--out", type=Path, required=True, help="sanity folder")
    sanity_train.add_argument("--jets", type=int, default=50_000, help="number of jets, if written")
    sanity_train.add_argument("--data-seed", type=int, default=0, help="seed of the jets, if written")
    sanity_train.add_argument("--resume", action="store_true", help="continue the run in OUT/model")
    train.add_train_arguments(sanity_train)
    sanity_train.set_defaults(run=run_sanity_train)
    for step in ("explain", "plot", "all"):
        parser = steps.add_parser(step, help=f"sanity-check {step}", formatter_class=cli.formatter())
        parser.set_defaults(run=cli.not_available(f"sanity {step}"))


def run_demo(args: argparse.Namespace) -> int:
    from hepxai.data.inspect import summarize
    from hepxai.data.root_io import read_jets
    from hepxai.data.sanity import write_sanity
    from hepxai.data.schema import load_schema

    schema = load_schema("sanity")
    path = write_sanity(args.out / "sanity.root", args.jets, seed=args.seed, progress=args.progress)
    jets = read_jets(path, schema, progress=args.progress)
    print(summarize(path, schema).format())  # noqa: T201
    print(f"\nread back {len(jets)} jets, {len(jets.features)} tracks; wrote {path}")  # noqa: T201
    return 0


def run_sanity_train(args: argparse.Namespace) -> int:
    from hepxai.data.sanity import write_sanity

    path = args.out / "sanity.root"
    if not path.is_file():
        write_sanity(path, args.jets, seed=args.data_seed, progress=args.progress)
    args.data, args.schema = [path], "sanity"
    args.out = args.out / "model"
    return train.run_train(args)
