"""The helix fit: its parameters scatter around the truth as its covariance says (pulls ~ N(0, 1))."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.data.detector.digitization import Digitization, digitize
from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import Particles, propagate
from hepxai.data.detector.track_fit import HELIX_PARAMETERS, MIN_FIT_HITS, fit_helices, pad_hits

BFIELD = 2.0
NUM_TRACKS = 400
PIXEL_RESOLUTION_MM = 0.015  # default_geometry.yml


@pytest.fixture(scope="module")
def toy_fit(geometry: Geometry) -> dict[str, np.ndarray]:
    """Tracks generated at their perigee (known parameters), 1-50 GeV, barrel and endcaps, multiple
    scattering on, fitted: their pulls ``[T, 5]``, fitted errors ``[T, 5]``, chi2 / ndof and pT."""
    rng = np.random.default_rng(7)
    pt = np.exp(rng.uniform(0.0, np.log(50.0), NUM_TRACKS))
    phi = rng.uniform(-np.pi, np.pi, NUM_TRACKS)
    tan_lambda = np.sinh(rng.uniform(-2.4, 2.4, NUM_TRACKS))
    charge = rng.choice([-1.0, 1.0], NUM_TRACKS)
    d0, z0 = rng.normal(0.0, 0.5, NUM_TRACKS), rng.normal(0.0, 20.0, NUM_TRACKS)
    # the production point is the perigee: d0 along the left normal of the direction
    vertex = np.stack([-d0 * np.sin(phi), d0 * np.cos(phi), z0], axis=1)
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * tan_lambda], axis=1)
    particles = Particles(vertex, momentum, charge, np.full(NUM_TRACKS, 0.13957))
    crossings = propagate(particles, geometry, BFIELD, scattering=True, rng=rng)
    hits = digitize(crossings, geometry, Digitization(noise_per_module=0.0), rng)
    fitted = np.flatnonzero(np.bincount(hits.particle, minlength=NUM_TRACKS) >= MIN_FIT_HITS)
    fit = fit_helices(pad_hits(hits, geometry, fitted, np.zeros(3)), BFIELD, charge[fitted])
    truth = np.stack([d0, z0, phi, tan_lambda, charge / pt], axis=1)[fitted]
    difference = fit.parameters - truth
    difference[:, 2] = (difference[:, 2] + np.pi) % (2 * np.pi) - np.pi
    errors = np.sqrt(np.einsum("tii->ti", fit.covariance))
    return {"pulls": difference / errors, "errors": errors, "normchi2": fit.chi2 / fit.ndof, "pt": pt[fitted]}


def test_nearly_every_track_is_fitted(toy_fit: dict) -> None:
    assert len(toy_fit["pt"]) > 0.95 * NUM_TRACKS


@pytest.mark.parametrize("parameter", range(len(HELIX_PARAMETERS)))
def test_pulls_are_standard_normal(toy_fit: dict, parameter: int) -> None:
    pulls = toy_fit["pulls"][:, parameter]
    standard_error = 1 / np.sqrt(len(pulls))  # of the mean; that of the width is 1 / sqrt(2 N)
    assert abs(pulls.mean()) < 4 * standard_error
    assert abs(pulls.std() - 1) < 4 * np.sqrt(2) * standard_error
    assert np.mean(np.abs(pulls) < 1) == pytest.approx(0.683, abs=4 * 0.47 * standard_error)


def test_normalised_chi2_averages_one(toy_fit: dict) -> None:
    ndof_min = 2 * MIN_FIT_HITS - len(HELIX_PARAMETERS)
    assert np.mean(toy_fit["normchi2"]) == pytest.approx(
        1.0, abs=4 * np.sqrt(2 / ndof_min / len(toy_fit["pt"]))
    )


def test_impact_parameter_error_has_a_scattering_and_a_resolution_term(toy_fit: dict) -> None:
    """Multiple scattering makes sigma(d0) grow like 1/pT at low pT; at high pT it levels off at the order
    of the pixel resolution (15 um): a few pixel hits averaged, extrapolated over their lever arm."""
    d0_error, pt = toy_fit["errors"][:, 0], toy_fit["pt"]
    low, high = np.median(d0_error[pt < 2]), np.median(d0_error[pt > 25])
    assert low > 3 * high
    assert 0.5 * PIXEL_RESOLUTION_MM < high < 3 * PIXEL_RESOLUTION_MM
