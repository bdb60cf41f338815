"""``hepxai demo``, ``hepxai all`` and ``hepxai sanity ...``: the whole chain in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepxai import cli
from hepxai.cli import data, explain


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
    for step in ("train", "explain", "plot", "all"):
        if step == "explain":
            add_sanity_explain(steps)
            continue
        parser = steps.add_parser(step, help=f"sanity-check {step}", formatter_class=cli.formatter())
        parser.set_defaults(run=cli.not_available(f"sanity {step}"))


def add_sanity_explain(steps: argparse._SubParsersAction) -> None:
    parser = steps.add_parser("explain", help="explain the sanity jets with LRP, print each feature's share",
                              formatter_class=cli.formatter())
    parser.add_argument("--out", type=Path, required=True,
                        help="sanity folder: reads sanity.root, writes relevance.h5")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint; OUT/best.pt when not given")
    explain.add_lrp_arguments(parser)
    parser.set_defaults(run=run_sanity_explain)


def run_sanity_explain(args: argparse.Namespace) -> int:
    import torch

    from hepxai.data.schema import load_schema
    from hepxai.explain.base import Explanation
    from hepxai.explain.export import explain_files
    from hepxai.explain.relevance_file import read_relevance_file
    from hepxai.explain.sanity import sanity_result

    path = explain_files(args.model or args.out / "best.pt", [args.out / "sanity.root"],
                         args.out / "relevance.h5", load_schema("sanity"), target=args.target,
                         max_jets=args.max_jets, edges=args.edges, input=args.input, epsilon=args.epsilon,
                         aggregate=args.aggregate, chunk_size=args.chunk_size, progress=args.progress)
    relevance = read_relevance_file(path)
    jet_index = torch.as_tensor(relevance.tracks["jet_id"].to_numpy().copy())
    explanation = Explanation(node=torch.as_tensor(relevance.track_relevance().copy()),
                              batch=torch.unique(jet_index, return_inverse=True)[1], target=args.target)
    print(sanity_result(explanation).format())  # noqa: T201
    print(f"wrote {path}")  # noqa: T201
    return 0


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
