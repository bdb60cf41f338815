"""Tracker simulation: event sizes and cost per pile-up level, and the pT resolution of a circle fit at 2 T.

    python bench/bench_detector.py [--events 10] [--events-200 4] [--muons 400]

Z -> mu mu events with Poisson(mu) soft-QCD pile-up for mu = 0, 10, 50, 200, made in this process with
Pythia initialised beforehand (initialisation is reported apart). Per event: hits, particles (charged,
written), particles with hits, hits per Z muon; the time of Pythia (generation and copying the particles out)
and of the detector (propagation, digitisation, tables), medians, with the detector's time with and without
multiple scattering on the same particles, side by side. Then muons of fixed pT at |eta| < 1 through the
default detector at 2 T (scattering and smearing on): the spread of the fitted pT over the true one, from the
pixel hits alone (4 layers, 32-172 mm) and from all hits, as the standard deviation and as the half-width of
the central 68%.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from hepxai.data.detector.digitization import Digitization, digitize
from hepxai.data.detector.events import EventGenerator
from hepxai.data.detector.geometry import load_geometry
from hepxai.data.detector.propagation import Particles, propagate
from hepxai.data.detector.simulation import DetectorSettings, detect
from hepxai.data.detector.track_fit import fitted_pt

PILEUP = (0, 10, 50, 200)
PIXEL_BARREL = 8


def event_rates(num_events: int, num_events_200: int) -> None:
    geometry = load_geometry()
    settings = DetectorSettings()
    no_scattering = replace(settings, scattering=False)
    start = time.perf_counter()
    hard_only = EventGenerator("zmumu", 0)
    hard_init = time.perf_counter() - start
    start = time.perf_counter()
    with_pileup = EventGenerator("zmumu", 1)
    pileup_init = time.perf_counter() - start
    print(f"Pythia initialisation: Z->mumu {hard_init:.1f} s, soft QCD {pileup_init:.1f} s (once per worker)")
    header = (
        f"{'mu':>4s} {'events':>6s} {'hits':>8s} {'particles':>9s} {'with hits':>9s} {'hits/Z mu':>9s}"
        f" {'Pythia s':>9s} {'detector s':>10s} {'det/Pythia':>10s} {'events/s':>8s} {'det no MS s':>11s}"
    )
    print(header)
    for mu in PILEUP:
        generator = hard_only if mu == 0 else with_pileup
        generator.pileup = mu
        rows = []
        for index in range(num_events_200 if mu == 200 else num_events):
            t0 = time.perf_counter()
            particles, rng = generator.generate(seed=1, index=index)
            t1 = time.perf_counter()
            event = detect(particles, geometry, settings, rng, event_id=index)
            t2 = time.perf_counter()
            detect(particles, geometry, no_scattering, np.random.default_rng(index), event_id=index)
            t3 = time.perf_counter()
            muons = event.particles.query("from_z == 1 and abs(particle_type) == 13")
            rows.append(
                (
                    len(event.hits),
                    len(event.particles),
                    int((event.particles.nhits > 0).sum()),
                    muons.nhits.mean(),
                    t1 - t0,
                    t2 - t1,
                    t3 - t2,
                )
            )
        hits, num_particles, with_hits, muon_hits, pythia, detector, plain = np.median(np.array(rows), axis=0)
        print(
            f"{mu:4d} {len(rows):6d} {hits:8.0f} {num_particles:9.0f} {with_hits:9.0f} {muon_hits:9.1f}"
            f" {pythia:9.3f} {detector:10.3f} {detector / pythia:10.2f} {1 / (pythia + detector):8.2f}"
            f" {plain:11.3f}"
        )


def pt_resolution(num_muons: int) -> None:
    geometry = load_geometry()
    bfield = 2.0
    print(f"\ncircle-fit pT resolution at {bfield:g} T, {num_muons} muons per pT, |eta| < 1, smeared")
    print(
        f"{'pT GeV':>7s} {'pixels std':>10s} {'pixels 68%':>10s} {'all std':>8s} {'all 68%':>8s}"
        f" {'all, no MS':>10s}"
    )
    rng = np.random.default_rng(7)
    for pt in (1.0, 10.0, 50.0, 100.0):
        eta, phi = rng.uniform(-1, 1, num_muons), rng.uniform(-np.pi, np.pi, num_muons)
        charge = rng.choice([-1.0, 1.0], num_muons)
        momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
        particles = Particles(np.zeros((num_muons, 3)), momentum, charge, np.full(num_muons, 0.10566))
        spreads = []
        for scattering in (True, False):
            crossings = propagate(particles, geometry, bfield, scattering=scattering, rng=rng)
            hits = digitize(crossings, geometry, Digitization(efficiency=1.0, noise_per_module=0.0), rng)
            pixel = geometry.volume_id[hits.surface] == PIXEL_BARREL
            for chosen in (pixel, np.ones_like(pixel)) if scattering else (np.ones_like(pixel),):
                fitted = np.array(
                    [
                        fitted_pt(hits.position[(hits.particle == k) & chosen, :2], bfield)
                        for k in range(num_muons)
                    ]
                )
                relative = fitted / pt - 1
                low, high = np.percentile(relative, [16, 84])
                spreads += [np.std(relative), (high - low) / 2]
        pixel_std, pixel_68, all_std, all_68, plain_std, _ = spreads
        print(f"{pt:7.0f} {pixel_std:10.2%} {pixel_68:10.2%} {all_std:8.2%} {all_68:8.2%} {plain_std:10.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10, help="events per pile-up level below 200")
    parser.add_argument("--events-200", type=int, default=4, help="events at mu = 200")
    parser.add_argument("--muons", type=int, default=400, help="muons per pT for the resolution")
    args = parser.parse_args()
    event_rates(args.events, args.events_200)
    pt_resolution(args.muons)


if __name__ == "__main__":
    main()
