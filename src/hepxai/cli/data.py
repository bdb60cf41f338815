"""``hepxai data {inspect,sanity,simulate}``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai import cli

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="make, simulate or inspect jet files")
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)

    inspect = actions.add_parser("inspect", help="jets, tracks per jet, labels, feature ranges, NaN/inf counts",
                                 formatter_class=cli.formatter())
    inspect.add_argument("files", nargs="+", type=Path, help="ROOT files")
    inspect.add_argument("--schema", default="auto", help="cms_hbb, sanity, a YAML file, or auto (from the tree)")
    inspect.set_defaults(run=run_inspect)

    sanity = actions.add_parser("sanity", help="write the synthetic sanity-check jets (only f0 and f3 matter)",
                                formatter_class=cli.formatter())
    add_sanity_arguments(sanity)
    sanity.set_defaults(run=run_sanity)

    simulate = actions.add_parser("simulate", help="simulate H->bb and QCD jets with Pythia 8 + FastJet",
                                  formatter_class=cli.formatter())
    simulate.set_defaults(run=cli.not_available("data simulate"))


def add_sanity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder; writes sanity.root there")
    parser.add_argument("--jets", type=int, default=50_000, help="number of jets")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def run_inspect(args: argparse.Namespace) -> int:
    from hepxai.data.inspect import detect_schema, summarize
    from hepxai.data.schema import load_schema

    for path in args.files:
        schema = detect_schema(path) if args.schema == "auto" else load_schema(args.schema)
        print(summarize(path, schema).format())  # noqa: T201
    return 0


def run_sanity(args: argparse.Namespace) -> int:
    from hepxai.data.sanity import write_sanity

    path = write_sanity(args.out / "sanity.root", args.jets, seed=args.seed, progress=args.progress)
    log.info("wrote %d sanity jets to %s", args.jets, path)
    return 0
