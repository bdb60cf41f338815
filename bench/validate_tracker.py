"""Validation of the jets measured in the tracker (the default of ``data simulate``): impact-parameter
resolution against truth, b tagging by impact-parameter significance, pile-up and vertex association, and
the per-feature distributions of H->bb and QCD jets beside the real CMS jet of the reference files.

    OMP_NUM_THREADS=1 python bench/validate_tracker.py [--jets 400] [--file jets.root] [--compare other.root]

Resolution: prompt charged pions from the beam line (|eta| < 0.9, then 1.4 < |eta| < 2.4) through
:func:`hepxai.data.simulate.tracker.reconstruct`; the fitted d0 is the residual to the truth (0).
B tagging: the 2nd and 3rd highest 3D impact-parameter significance of a jet's tracks (CMS's track
counting) among the tracks CMS's impact-parameter taggers use (highPurity-like quality and within 0.07 cm of
the jet axis, which rejects the pile-up tracks; CMS's decay-length cut is not applied), cut where 1% of the
light QCD jets (``label_QCD_others``) pass; the efficiency for H->bb jets and
for QCD jets with b hadrons, in ``--file`` and in ``--compare`` (e.g. a ``--resolution-model`` file made
with the same seed). Pile-up: the tracks from pile-up per jet and the association flags of hard-scatter and
pile-up tracks (``track_fromPU`` truth). Distributions: ``--file``, or ``--jets`` jets simulated here.
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
MAX_JET_DISTANCE_CM = 0.07  # CMS's impact-parameter taggers use tracks this close to the jet axis
HIGH_PURITY_MASK = 5  # track_quality: loose + highPurity (the resolution model writes 5 for every track)
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


def btagging(path: Path, mistag: float = 0.01) -> None:
    """Efficiency of the n-th highest Sip3dSig tag (n = 2, 3) at a ``mistag`` rate of light QCD jets."""
    names = ["trackBTag_Sip3dSig", "label_H_bb", "label_QCD_b", "label_QCD_bb", "label_QCD_c", "label_QCD_cc"]
    selection = ["trackBTag_JetDistVal", "track_quality"]
    with uproot.open(path) as file:
        tree = file[load_schema("cms_hbb").tree].arrays(
            [*names, *selection, "label_QCD_others"], library="ak"
        )
    used = (tree["trackBTag_JetDistVal"] > -MAX_JET_DISTANCE_CM) & (tree["track_quality"] == HIGH_PURITY_MASK)
    significance = ak.sort(tree["trackBTag_Sip3dSig"][used], axis=1, ascending=False)
    classes = {
        "H->bb": tree["label_H_bb"] == 1,
        "QCD b/bb": (tree["label_QCD_b"] + tree["label_QCD_bb"]) > 0,
        "QCD c/cc": (tree["label_QCD_c"] + tree["label_QCD_cc"]) > 0,
    }
    light = ak.to_numpy(tree["label_QCD_others"] == 1)
    print(f"\nb tagging, {path.name}: efficiency at {mistag:.0%} of {light.sum()} light QCD jets")
    print(f"{'tag':>16s} {'cut':>7s} " + " ".join(f"{name:>16s}" for name in classes))
    for rank in (2, 3):
        padded = ak.fill_none(ak.pad_none(significance, rank, axis=1)[:, rank - 1], -99.0)
        score = ak.to_numpy(padded)
        cut = np.quantile(score[light], 1 - mistag)
        cells = []
        for mask in classes.values():
            chosen = ak.to_numpy(mask)
            passed = int((score[chosen] > cut).sum())
            cells.append(f"{passed / max(chosen.sum(), 1):6.1%} of {chosen.sum():5d}")
        print(f"{f'Sip3dSig #{rank}':>16s} {cut:7.2f} " + " ".join(f"{cell:>16s}" for cell in cells))


def pileup_association(path: Path) -> None:
    """Pile-up tracks per jet, and fromPV / VTX_ass / puppiw of hard-scatter and pile-up tracks."""
    names = ["track_fromPU", "track_fromPV", "track_VTX_ass", "track_puppiw"]
    with uproot.open(path) as file:
        tree = file[load_schema("cms_hbb").tree].arrays(names, library="ak")
    pileup = ak.to_numpy(ak.flatten(tree["track_fromPU"])) == 1
    per_jet = ak.to_numpy(ak.sum(tree["track_fromPU"], axis=1))
    counts = ak.to_numpy(ak.num(tree["track_fromPU"]))
    print(f"\npile-up, {path.name}: {len(counts)} jets, {counts.mean():.1f} tracks per jet, of which")
    spread = f"median {np.median(per_jet):.0f}, 95% {np.quantile(per_jet, 0.95):.0f}"
    print(f"{per_jet.mean():.2f} from pile-up ({spread})")
    for name, values in ((n, ak.to_numpy(ak.flatten(tree[n]))) for n in names[1:]):
        print(f"{name:>14s} " + " ".join(f"{v:>12g}" for v in np.unique(values)))
        for label, mask in (("hard scatter", ~pileup), ("pile-up", pileup)):
            shares = [np.mean(values[mask] == v) if mask.any() else 0.0 for v in np.unique(values)]
            print(
                f"{label:>14s} " + " ".join(f"{share:12.1%}" for share in shares) + f"  ({mask.sum()} tracks)"
            )
    hard_in_fit = ak.to_numpy(
        ak.sum((tree["track_fromPU"] == 0) & (tree["track_fromPV"] == 3), axis=1)
        / np.maximum(ak.num(tree["track_fromPU"]) - ak.sum(tree["track_fromPU"], axis=1), 1)
    )
    print(f"jets with most hard-scatter tracks in the primary vertex's fit: {np.mean(hard_in_fit > 0.5):.1%}")
    with uproot.open(path) as file:
        distance = file[load_schema("cms_hbb").tree]["fj_pvDz"].array(library="np")
    near = np.mean(np.abs(distance) < 0.1)
    width = 1e4 * np.diff(np.quantile(distance, [0.16, 0.84]))[0] / 2
    print(f"primary vertex - hard interaction in z: within 0.1 cm in {near:.1%} of the jets;")
    print(f"central 68% half-width {width:.1f} um")


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
    parser.add_argument("--file", type=Path, default=None, help="a file made with the tracker")
    parser.add_argument("--compare", type=Path, default=None, help="another file, for the b-tagging table")
    args = parser.parse_args()
    d0_resolution((0.0, 0.9))
    d0_resolution((1.4, 2.4))
    if args.file is not None:
        btagging(args.file)
        if args.compare is not None:
            btagging(args.compare)
        pileup_association(args.file)
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
            progress=False,
        )
        distributions(path)


if __name__ == "__main__":
    main()
