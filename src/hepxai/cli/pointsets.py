"""``hepxai pointsets {make,inspect}``: point-set datasets with per-point ground truth (docs/data.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    pointsets = commands.add_parser(
        "pointsets", help="make and inspect point-set datasets (synthetic, ActsTrack-like, SynMol)"
    )
    actions = pointsets.add_subparsers(dest="action", metavar="ACTION", required=True)
    make = actions.add_parser(
        "make",
        help="write a point-set dataset folder (dataset.yaml, train.pt, valid.pt, test.pt)",
        description="Make a dataset of point clouds with per-point ground truth. synthetic: clouds with a "
        "planted track (seconds); actstrack: hits of 10 tracks of Z->mumu + pile-up (mu=10, 2 T) events "
        "from the project's tracker simulation, positive when two are the Z's muons (~5 min on 2 cores at "
        "the paper's 3,241 samples); synmol: 3D molecules from the SMILES of the molsets package, positive "
        "with an unbranched alkane and a carbonyl (~4 min on 2 cores at the paper's 8,663); tau3mu: hits of "
        "a toy muon endcap station, positive with the three muons of a tau->3mu decay (Pythia) over pile-up "
        "tracks drawn from a minimum-bias library (one process). Samples hold "
        "points only; models build the kNN graph. The same command again does nothing; other settings "
        "into the same folder are refused.",
        formatter_class=arguments.formatter(),
    )
    make.add_argument("kind", choices=("synthetic", "actstrack", "synmol", "tau3mu"), help="which dataset")
    make.add_argument("--out", type=Path, required=True, default=argparse.SUPPRESS, help="dataset folder")
    make.add_argument(
        "--samples",
        type=int,
        help="samples (default: the paper's, 3241 actstrack, 8663 synmol; 2000 synthetic; 20000 tau3mu)",
    )
    make.add_argument("--seed", type=int, default=0, help="random seed")
    make.add_argument(
        "--positive-fraction",
        type=float,
        help="share of positives (default: the paper's, 0.39 actstrack, 0.18 synmol, 0.24 tau3mu)",
    )
    make.add_argument("--pileup", type=float, default=10.0, help="actstrack: mean pile-up interactions")
    make.add_argument("--tracks", type=int, help="actstrack: tracks per sample (default 10)")
    make.add_argument(
        "--max-tracks", type=int, help="actstrack: draw the tracks per sample uniformly from --tracks to this"
    )
    make.add_argument(
        "--field", "--bfield", dest="bfield", type=float, default=2.0, help="actstrack: solenoid field in T"
    )
    make.add_argument(
        "--pileup-tracks",
        type=float,
        help="tau3mu: mean pile-up tracks per sample in the station (default 11.5)",
    )
    arguments.add_engine_arguments(make)
    make.set_defaults(run=run_make)

    inspect = actions.add_parser(
        "inspect",
        help="samples, points and true points per sample, positive fraction, per split",
        formatter_class=arguments.formatter(),
    )
    inspect.add_argument("folder", type=Path, help="a dataset folder (with dataset.yaml)")
    inspect.set_defaults(run=run_inspect)


def run_make(args: argparse.Namespace) -> int:
    arguments.require_at_least("--workers", args.workers, 1)

    from hepxai.data.pointsets import make

    if args.kind == "synthetic":
        make.make_synthetic(args.out, samples=args.samples or 2000, seed=args.seed)
    elif args.kind == "actstrack":
        settings = make.ActsTrackSettings(
            **_given(
                samples=args.samples,
                positive_fraction=args.positive_fraction,
                tracks=args.tracks,
                max_tracks=args.max_tracks,
            ),
            pileup=args.pileup,
            bfield=args.bfield,
            seed=args.seed,
        )
        make.make_actstrack(
            args.out, settings, workers=args.workers, progress=args.progress, scheduler=args.scheduler
        )
    elif args.kind == "tau3mu":
        settings = make.Tau3MuSettings(
            **_given(
                samples=args.samples,
                positive_fraction=args.positive_fraction,
                pileup_tracks=args.pileup_tracks,
            ),
            seed=args.seed,
        )
        make.make_tau3mu(args.out, settings, progress=args.progress)
    else:
        settings = make.SynMolSettings(
            **_given(samples=args.samples, positive_fraction=args.positive_fraction), seed=args.seed
        )
        make.make_synmol(
            args.out, settings, workers=args.workers, progress=args.progress, scheduler=args.scheduler
        )
    log.info("dataset in %s", args.out)
    return 0


def _given(**options: object) -> dict[str, object]:
    """The options that were given (the settings' own defaults stand for the others)."""
    return {name: value for name, value in options.items() if value is not None}


def run_inspect(args: argparse.Namespace) -> int:
    arguments.require_existing("dataset folder", [args.folder])

    from hepxai.data.pointsets.make import pointset_statistics
    from hepxai.data.pointsets.store import pointset_info

    info = pointset_info(args.folder)
    lines = [f"{args.folder}: {info['kind']} dataset, settings {info.get('settings', {})}"]
    lines.append(
        f"{'split':<6} {'samples':>8} {'points':>8} {'truth/pos':>10} {'positive':>9} {'features':>9}"
    )
    for row in pointset_statistics(args.folder):
        lines.append(
            f"{row.split:<6} {row.samples:>8} {row.points:>8.1f} {row.truth_points:>10.1f} "
            f"{row.positive_fraction:>9.3f} {row.features:>9}"
        )
    print("\n".join(lines))  # noqa: T201
    return 0
