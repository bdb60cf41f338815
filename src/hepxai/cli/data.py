"""``hepxai data {inspect,sanity,simulate}``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments
from hepxai.errors import InputError

log = logging.getLogger(__name__)

_DEFAULT_PILEUP = 30.0  # hepxai.data.simulate.pileup.DEFAULT_MU, not imported before a command runs


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="make, simulate or inspect jet files")
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)

    inspect = actions.add_parser(
        "inspect",
        help="jets, tracks per jet, labels, feature ranges, NaN/inf counts",
        formatter_class=arguments.formatter(),
    )
    inspect.add_argument("files", nargs="+", type=Path, metavar="FILE", help="ROOT files")
    inspect.add_argument(
        "--schema", default="auto", help="cms_hbb, sanity, a YAML file, or auto (from the tree)"
    )
    inspect.set_defaults(run=run_inspect)

    sanity = actions.add_parser(
        "sanity",
        help="write the synthetic sanity-check jets (only f0 and f3 matter)",
        formatter_class=arguments.formatter(),
    )
    add_sanity_arguments(sanity)
    sanity.set_defaults(run=run_sanity)

    simulate = actions.add_parser(
        "simulate",
        help="simulate H->bb and QCD jets with Pythia 8 + FastJet",
        description="Simulate boosted H->bb (pp -> H + jet) and QCD (HardQCD:all) jets at 13 TeV "
        "with Pythia 8, cluster anti-kT R=0.8 jets with FastJet and write one ROOT file "
        "in the CMS H->bb schema (tree deepntuplizer/tree, 48 track features, labels, "
        "fj_sdmass and fj_pt) plus truth branches (track_fromB, track_pdgId, "
        "track_vx/vy/vz, fj_isH, fj_nbHadrons, fj_mass). See docs/simulation.md.",
        formatter_class=arguments.formatter(),
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(run=run_simulate)


def add_sanity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output folder; writes sanity.root there"
    )
    parser.add_argument("--jets", type=int, default=50_000, metavar="N", help="number of jets")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    required = {"required": True, "default": argparse.SUPPRESS}
    parser.add_argument("--signal", type=int, help="number of H->bb jets", **required)
    parser.add_argument("--background", type=int, help="number of QCD jets", **required)
    parser.add_argument("--out", type=Path, metavar="FILE", help="ROOT file to write", **required)
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed (same seed: same file, with any number of workers)"
    )
    arguments.add_engine_arguments(parser)
    parser.add_argument(
        "--pthat-min", type=float, default=300.0, help="minimum pT of the hard process in GeV"
    )
    parser.add_argument(
        "--resolution-model",
        action="store_true",
        help="smear the generated tracks' impact parameters instead of measuring them (faster, no pile-up; "
        "default: charged particles through the tracking detector, helix fits, vertex reconstruction)",
    )
    parser.add_argument(
        "--pileup",
        type=float,
        default=None,
        metavar="MU",
        help="mean number of pile-up interactions per event (Poisson), 0 for none; default 30; not with "
        "--resolution-model",
    )


def run_inspect(args: argparse.Namespace) -> int:
    arguments.require_existing("file", args.files)

    from hepxai.data.inspect import detect_schema, summarize
    from hepxai.data.schema import load_schema

    for path in args.files:
        schema = detect_schema(path) if args.schema == "auto" else load_schema(args.schema)
        print(summarize(path, schema).format())  # noqa: T201
    return 0


def run_sanity(args: argparse.Namespace) -> int:
    arguments.require_at_least("--jets", args.jets, 1)

    from hepxai.data.sanity import write_sanity

    path = write_sanity(args.out / "sanity.root", args.jets, seed=args.seed, progress=args.progress)
    log.info("wrote %d sanity jets to %s", args.jets, path)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    arguments.require_at_least("--workers", args.workers, 1)
    arguments.require_at_least("--pileup", args.pileup, 0)
    if args.resolution_model and args.pileup:
        msg = "--pileup needs the tracker: leave it out with --resolution-model"
        raise InputError(msg)
    from hepxai.data.simulate import simulate

    path = simulate(
        args.out,
        num_signal=args.signal,
        num_background=args.background,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        pthat_min=args.pthat_min,
        tracker=not args.resolution_model,
        pileup=_DEFAULT_PILEUP if args.pileup is None else args.pileup,
        progress=args.progress,
    )
    log.info("wrote %d H->bb and %d QCD jets to %s", args.signal, args.background, path)
    return 0
