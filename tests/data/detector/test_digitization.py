"""Digitisation: smearing per technology, efficiency, noise hits, hit order after inefficiency."""

from __future__ import annotations

import numpy as np

from hepxai.data.detector.digitization import Digitization, digitize
from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import propagate

from .conftest import make_particles


def _crossings(geometry: Geometry, n: int = 3000):
    rng = np.random.default_rng(0)
    particles = make_particles(10.0, rng.uniform(-3.5, 3.5, n), rng.uniform(-np.pi, np.pi, n), 1.0)
    return propagate(particles, geometry, 2.0)


def test_smearing_follows_each_technologys_resolution(geometry: Geometry) -> None:
    crossings = _crossings(geometry)
    hits = digitize(
        crossings, geometry, Digitization(efficiency=1.0, noise_per_module=0.0), np.random.default_rng(1)
    )
    true, measured, surface = hits.true_position, hits.position, hits.surface
    r_true, r_measured = np.hypot(*true[:, :2].T), np.hypot(*measured[:, :2].T)
    across = r_true * (np.arctan2(measured[:, 1], measured[:, 0]) - np.arctan2(true[:, 1], true[:, 0]))
    barrel = geometry.barrel[surface]
    along = np.where(barrel, measured[:, 2] - true[:, 2], r_measured - r_true)
    for technology in ("pixel", "short_strip", "long_strip"):
        chosen = np.array(geometry.technology)[surface] == technology
        assert chosen.sum() > 1000
        expected = (
            geometry.resolution_across[surface[chosen]][0],
            geometry.resolution_along[surface[chosen]][0],
        )
        np.testing.assert_allclose(np.std(across[chosen]), expected[0], rtol=0.1)
        np.testing.assert_allclose(np.std(along[chosen]), expected[1], rtol=0.1)
    np.testing.assert_allclose(r_measured[barrel], r_true[barrel], rtol=1e-9)  # a hit stays on its cylinder
    np.testing.assert_allclose(measured[~barrel, 2], true[~barrel, 2])  # ... or its disk


def test_efficiency_and_noise(geometry: Geometry) -> None:
    crossings = _crossings(geometry)
    config = Digitization(efficiency=0.9, noise_per_module=0.01)
    hits = digitize(crossings, geometry, config, np.random.default_rng(2))
    signal = hits.particle >= 0
    np.testing.assert_allclose(signal.sum() / len(crossings.particle), 0.9, atol=0.01)
    np.testing.assert_allclose((~signal).sum(), 0.01 * geometry.num_modules().sum(), rtol=0.1)
    assert np.all(hits.order[~signal] == -1)
    # the order counts the recorded hits of each particle along its path: 0, 1, 2, ... with no gaps
    for particle in np.unique(hits.particle[signal])[:200]:
        np.testing.assert_array_equal(
            np.sort(hits.order[hits.particle == particle]), np.arange((hits.particle == particle).sum())
        )
    assert hits.module_id.min() >= 1
