"""``hepxai detector {simulate,inspect,display}``: the tracking detector simulation and its events."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    detector = commands.add_parser(
        "detector", help="simulate tracker events (TrackML format), inspect, display"
    )
    actions = detector.add_subparsers(dest="action", metavar="ACTION", required=True)

    simulate = actions.add_parser(
        "simulate",
        help="Pythia 8 events with pile-up through a solenoid tracker, written as TrackML events",
        description="Generate a hard process plus Poisson(mu) soft-QCD pile-up with Pythia 8, propagate the "
        "charged particles as helices through a TrackML-like tracker (10 barrel layers, 26 disks per side "
        "split over pixels and strips), digitise the crossings (smearing, efficiency, noise) and write "
        "TrackML CSV files per event or HDF5 files of many events, with full truth. Stopped runs resume: "
        "run the same command again. See docs/detector.md.",
        formatter_class=arguments.formatter(),
    )
    required = {"required": True, "default": argparse.SUPPRESS}
    simulate.add_argument("--process", default="zmumu", help="hard process: zmumu, ttbar or minbias")
    simulate.add_argument("--events", type=int, help="number of events", **required)
    simulate.add_argument(
        "--pileup", type=float, default=0.0, help="mean number of pile-up interactions (mu)"
    )
    simulate.add_argument(
        "--bfield", type=float, default=2.0, help="solenoid field in T (0: straight tracks)"
    )
    simulate.add_argument("--out", type=Path, help="output folder", **required)
    simulate.add_argument("--format", default="csv", help="csv (TrackML files per event) or hdf5")
    simulate.add_argument(
        "--seed", type=int, default=0, help="random seed (an event depends on it and its index)"
    )
    arguments.add_engine_arguments(simulate)
    simulate.add_argument("--geometry", type=Path, help="geometry YAML (default: the TrackML-like detector)")
    simulate.add_argument(
        "--scattering", action=argparse.BooleanOptionalAction, default=True, help="multiple scattering"
    )
    simulate.add_argument("--efficiency", type=float, default=0.99, help="hit efficiency per crossing")
    simulate.add_argument("--noise", type=float, default=0.002, help="mean noise hits per module per event")
    simulate.add_argument("--max-turns", type=float, default=0.5, help="loopers stop after this many turns")
    simulate.add_argument("--events-per-file", type=int, default=100, help="events per HDF5 file")
    simulate.set_defaults(run=run_simulate)

    inspect = actions.add_parser(
        "inspect",
        help="events, hits, particles, hits per particle and per volume",
        formatter_class=arguments.formatter(),
    )
    inspect.add_argument("path", type=Path, help="a folder of events, an HDF5 file or an event prefix")
    inspect.set_defaults(run=run_inspect)

    display = actions.add_parser(
        "display",
        help="x-y and r-z views (PNG) and an interactive 3D view (HTML) of one event",
        formatter_class=arguments.formatter(),
    )
    display.add_argument(
        "event", type=Path, help="an event prefix (DIR/event000000000), a folder or HDF5 file"
    )
    display.add_argument("--event-id", type=int, help="which event of a folder or file (default: the first)")
    display.add_argument(
        "--out", type=Path, help="PNG file to write; the 3D view goes beside it as .html", **required
    )
    display.set_defaults(run=run_display)


def run_simulate(args: argparse.Namespace) -> int:
    arguments.require_existing("geometry file", [args.geometry] if args.geometry is not None else [])

    from hepxai.data.detector import DetectorSettings, simulate_events
    from hepxai.data.detector.digitization import Digitization

    settings = DetectorSettings(
        bfield=args.bfield,
        scattering=args.scattering,
        max_turns=args.max_turns,
        digitization=Digitization(efficiency=args.efficiency, noise_per_module=args.noise),
    )
    simulate_events(
        args.out,
        process=args.process,
        events=args.events,
        pileup=args.pileup,
        settings=settings,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        output_format=args.format,
        geometry=args.geometry,
        events_per_file=args.events_per_file,
        progress=args.progress,
    )
    log.info("events in %s", args.out)
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from hepxai.data.detector.summary import summarize_events

    print(summarize_events(args.path))  # noqa: T201
    return 0


def run_display(args: argparse.Namespace) -> int:
    from hepxai.data.detector.trackml_io import list_events, read_events
    from hepxai.io.atomic import atomic_path
    from hepxai.plots.events import event_display, event_display_3d
    from hepxai.plots.style import save_figure

    event_id = args.event_id if args.event_id is not None else list_events(args.event)[0][1]
    event = next(read_events(args.event, [event_id]))
    png = save_figure(event_display(event), args.out.with_suffix(""), ("png",))[0]
    html = args.out.with_suffix(".html")
    with atomic_path(html) as temporary:
        event_display_3d(event).write_html(temporary, include_plotlyjs=True, full_html=True)
    log.info("wrote %s and %s", png, html)
    return 0
