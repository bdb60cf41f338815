"""Validation of the jets measured with ``--tracker``: impact-parameter resolution against truth, and the
per-feature distributions of H->bb and QCD jets beside the real CMS jet of the reference files.

    OMP_NUM_THREADS=1 python bench/validate_tracker.py [--jets 400] [--file jets.root]

Resolution: prompt charged pions from the beam line (|eta| < 0.9, then 1.4 < |eta| < 2.4) through
:func:`hepxai.data.simulate.tracker.reconstruct`; the fitted d0 is the residual to the truth (0).
Distributions: ``--file`` (a ``--tracker`` file), or ``--jets`` jets simulated here, half H->bb.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepxai.data.schema import load_schema
from hepxai.data.simulate import simulate
from hepxai.data.simulate.tracker import Tracker, reconstruct

REFERENCE_JET = Path(__file__).parents[1] / ".." / "shared" / "reference" / "hin_cms" / "cms_jet_67tracks.npz"
PION_MASS = 0.13957
PT_POINTS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def d0_resolution(eta_range: tuple[float, float], per_point: int = 400, seed: int = 0) -> None:
    """sigma(d0) from fit - truth (std and 68% half-width) and the median fitted error, per pT (um)."""
    tracker, rng = Tracker(), np.random.default_rng(seed)
    print(f"\nd0 resolution, prompt pions, {eta_range[0]} < |eta| < {eta_range[1]}, {per_point} per pT")
    print(f"{'pT GeV':>7s} {'std um':>8s} {'68% um':>8s} {'fit err um':>11s} {'pull std':>9s} {'found':>6s}")
    for pt in PT_POINTS:
        eta = rng.uniform(*eta_range, per_point) * rng.choice([-1, 1], per_point)
        phi = rng.uniform(-np.pi, np.pi, per_point)
        p3 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
        momentum = np.concatenate([p3, np.sqrt(np.sum(p3**2, axis=1) + PION_MASS**2)[:, None]], axis=1)
        charge = rng.choice([-1.0, 1.0], per_point)
        tracks = reconstruct(tracker, momentum, charge, np.zeros((per_point, 3)), np.zeros(3), rng)
        d0 = np.einsum(
            "ij,ij->i", tracks.reference[:, :2], np.stack([-np.sin(phi), np.cos(phi)], 1)[tracks.particle]
        )
        error = np.sqrt(tracks.covariance[:, 3, 3])
        half68 = np.diff(np.percentile(d0, [16, 84]))[0] / 2
        print(
            f"{pt:7.0f} {1e4 * d0.std():8.1f} {1e4 * half68:8.1f} {1e4 * np.median(error):11.1f}"
            f" {np.std(d0 / error):9.2f} {len(d0) / per_point:6.1%}"
        )


def distributions(path: Path) -> None:
    """Median and 5-95% range per feature for H->bb and QCD tracks, and the real CMS jet's."""
    schema = load_schema("cms_hbb")
    with uproot.open(path) as file:
        tree = file[schema.tree].arrays([*schema.unique_features, "label_H_bb"], library="ak")
    signal = ak.to_numpy(tree["label_H_bb"]) == 1
    real = np.load(REFERENCE_JET)["x"]
    print(f"\nper-track features, {signal.sum()} H->bb and {(~signal).sum()} QCD jets; CMS: one real jet")
    print("| feature | H→bb median [5%, 95%] | QCD median [5%, 95%] | CMS jet median [min, max] |")
    print("|---|---|---|---|")
    for name in schema.unique_features:
        column = schema.features.index(name)
        cells = []
        for mask in (signal, ~signal):
            values = ak.to_numpy(ak.flatten(tree[name][mask]))
            low, mid, high = np.percentile(values, [5, 50, 95])
            cells.append(f"{mid:.3g} [{low:.3g}, {high:.3g}]")
        values = real[:, column]
        cells.append(f"{np.median(values):.3g} [{values.min():.3g}, {values.max():.3g}]")
        print(f"| `{name}` | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=400, help="jets to simulate when no --file is given")
    parser.add_argument("--file", type=Path, default=None, help="a file made with --tracker")
    args = parser.parse_args()
    d0_resolution((0.0, 0.9))
    d0_resolution((1.4, 2.4))
    if args.file is not None:
        distributions(args.file)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.root"
        simulate(
            path,
            num_signal=args.jets // 2,
            num_background=args.jets - args.jets // 2,
            seed=0,
            workers=1,
            tracker=True,
            progress=False,
        )
        distributions(path)


if __name__ == "__main__":
    main()
