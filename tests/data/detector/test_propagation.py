"""Helix propagation: radius and pitch, reach at 2 T, loopers, straight tracks, scattering, circle fits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hepxai.data.detector.digitization import Digitization, digitize
from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import helix_radius, propagate
from hepxai.data.detector.track_fit import fitted_pt

from .conftest import make_particles

BARREL_RADII = [32, 72, 116, 172, 260, 360, 500, 660, 820, 1020]


def test_hits_lie_on_the_helix_of_radius_pt_over_0_3_q_b_with_the_pitch_of_pz(geometry: Geometry) -> None:
    rng = np.random.default_rng(1)
    n, bfield = 300, 2.0
    vertex = np.stack([rng.normal(0, 0.02, n), rng.normal(0, 0.02, n), rng.normal(0, 50, n)], axis=1)
    charge = rng.choice([-2.0, -1.0, 1.0], n)
    particles = make_particles(
        rng.uniform(0.3, 20, n), rng.uniform(-3.5, 3.5, n), rng.uniform(-np.pi, np.pi, n), charge, vertex
    )
    crossings = propagate(particles, geometry, bfield)
    assert len(np.unique(crossings.particle)) > 0.9 * n
    p = crossings.particle
    momentum = particles.momentum[p]
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    # R = pT / (0.3 |q| B) in m, written out independently of the code: 1 GeV, 1 T -> 3.3356 m
    radius_mm = pt / (0.299792458 * np.abs(charge[p]) * bfield) * 1000
    sign = -np.sign(charge[p] * bfield)  # positive particles turn clockwise in a field along +z
    u = momentum[:, :2] / pt[:, None]
    centre = vertex[p, :2] + sign[:, None] * np.stack([-u[:, 1], u[:, 0]], axis=1) * radius_mm[:, None]
    np.testing.assert_allclose(
        np.linalg.norm(crossings.position[:, :2] - centre, axis=1), radius_mm, rtol=1e-9
    )
    # turning angle from the vertex, measured around the centre, times R gives the transverse path
    start = np.arctan2(vertex[p, 1] - centre[:, 1], vertex[p, 0] - centre[:, 0])
    here = np.arctan2(crossings.position[:, 1] - centre[:, 1], crossings.position[:, 0] - centre[:, 0])
    turned = np.mod(sign * (here - start), 2 * np.pi)
    expected_z = vertex[p, 2] + turned * radius_mm * momentum[:, 2] / pt
    np.testing.assert_allclose(crossings.position[:, 2], expected_z, atol=1e-6)
    # the momentum keeps pT and pz and stays tangent to the circle
    np.testing.assert_allclose(np.hypot(crossings.momentum[:, 0], crossings.momentum[:, 1]), pt, rtol=1e-12)
    radial = crossings.position[:, :2] - centre
    np.testing.assert_allclose(
        np.einsum("ij,ij->i", radial, crossings.momentum[:, :2]) / (pt * radius_mm), 0, atol=1e-9
    )


def test_helix_radius_formula() -> None:
    assert helix_radius(1.0, 1.0, 1.0) == pytest.approx(3335.64, rel=1e-5)
    assert helix_radius(0.15, -1.0, 2.0) == pytest.approx(250.2, rel=1e-3)


def test_central_high_pt_muon_crosses_each_barrel_layer_once(geometry: Geometry) -> None:
    phi = np.linspace(-np.pi, np.pi, 12, endpoint=False)
    crossings = propagate(
        make_particles(100.0, 0.0, phi, np.where(np.arange(12) % 2, 1.0, -1.0)), geometry, 2.0
    )
    for particle in range(12):
        surfaces = crossings.surface[crossings.particle == particle]
        assert np.all(geometry.barrel[surfaces])
        np.testing.assert_allclose(geometry.radius[surfaces], BARREL_RADII)  # in order, once each
        np.testing.assert_array_equal(crossings.order[crossings.particle == particle], np.arange(10))


@pytest.mark.parametrize(
    ("pt", "reached", "not_reached"),
    [
        (0.15, 500, 660),  # 2R = 0.50 m: the apex is just beyond the 500 mm layer
        (0.3, 820, 1020),  # 2R = 1.0 m
    ],
)
def test_low_pt_particles_reach_the_layers_within_their_diameter_at_2_t(
    geometry: Geometry, pt: float, reached: float, not_reached: float
) -> None:
    rng = np.random.default_rng(2)
    n = 200
    particles = make_particles(
        pt, rng.uniform(-0.3, 0.3, n), rng.uniform(-np.pi, np.pi, n), rng.choice([-1.0, 1.0], n)
    )
    crossings = propagate(particles, geometry, 2.0)
    r = np.hypot(crossings.position[:, 0], crossings.position[:, 1])
    assert r.max() < not_reached
    for particle in range(n):
        assert np.isclose(r[crossings.particle == particle], reached).any()


def test_loopers_stop_after_half_a_turn_unless_told_otherwise(geometry: Geometry) -> None:
    particles = make_particles(0.3, 0.0, 0.4, 1.0)  # pz = 0: the helix is a circle at z = 0
    half = propagate(particles, geometry, 2.0)
    np.testing.assert_allclose(np.hypot(*half.position[:, :2].T), BARREL_RADII[:9])
    full = propagate(particles, geometry, 2.0, max_turns=1.0)
    r = np.hypot(*full.position[:, :2].T)
    np.testing.assert_allclose(r, BARREL_RADII[:9] + BARREL_RADII[:9][::-1])  # out and back in
    three = propagate(particles, geometry, 2.0, max_turns=3.0)
    assert len(three.particle) == 3 * 18


def test_zero_field_gives_straight_lines(geometry: Geometry) -> None:
    rng = np.random.default_rng(3)
    particles = make_particles(0.2, rng.uniform(-3, 3, 50), rng.uniform(-np.pi, np.pi, 50), 1.0)
    crossings = propagate(particles, geometry, 0.0)
    direction = particles.momentum / np.linalg.norm(particles.momentum, axis=1, keepdims=True)
    offset = crossings.position - particles.vertex[crossings.particle]
    np.testing.assert_allclose(np.cross(offset, direction[crossings.particle]), 0, atol=1e-9)
    assert np.all(np.einsum("ij,ij->i", offset, direction[crossings.particle]) > 0)


def test_endcap_disks_are_hit_inside_their_radial_range(geometry: Geometry) -> None:
    rng = np.random.default_rng(4)
    particles = make_particles(5.0, rng.uniform(1.5, 3.8, 200), rng.uniform(-np.pi, np.pi, 200), 1.0)
    crossings = propagate(particles, geometry, 2.0)
    disk = ~geometry.barrel[crossings.surface]
    assert disk.sum() > 200
    r = np.hypot(*crossings.position[disk, :2].T)
    s = crossings.surface[disk]
    assert np.all((r >= geometry.r_min[s]) & (r <= geometry.r_max[s]))
    np.testing.assert_allclose(crossings.position[disk, 2], geometry.z[s])


def test_scattering_deflects_low_momentum_tracks_more(geometry: Geometry) -> None:
    spreads = []
    for pt in (1.0, 100.0):
        particles = make_particles(pt, np.zeros(400), np.zeros(400), 1.0)
        clean = propagate(particles, geometry, 2.0)
        scattered = propagate(particles, geometry, 2.0, scattering=True, rng=np.random.default_rng(5))
        outer = np.isclose(np.hypot(*scattered.position[:, :2].T), 660)
        reference = clean.position[np.isclose(np.hypot(*clean.position[:, :2].T), 660)][0]
        spreads.append(np.std(scattered.position[outer, 1] - reference[1]))
    assert spreads[0] > 30 * spreads[1] > 0  # Highland: theta0 ~ 1/p


def test_circle_fit_recovers_muon_pt(geometry: Geometry) -> None:
    rng = np.random.default_rng(6)
    n, pt, bfield = 200, 50.0, 2.0
    particles = make_particles(
        pt, rng.uniform(-0.4, 0.4, n), rng.uniform(-np.pi, np.pi, n), rng.choice([-1.0, 1.0], n)
    )
    crossings = propagate(particles, geometry, bfield)
    exact = np.array([fitted_pt(crossings.position[crossings.particle == k, :2], bfield) for k in range(n)])
    np.testing.assert_allclose(exact, pt, rtol=0.01)
    hits = digitize(crossings, geometry, Digitization(efficiency=1.0, noise_per_module=0.0), rng)
    smeared = np.array([fitted_pt(hits.position[hits.particle == k, :2], bfield) for k in range(n)])
    # Gluckstern: sigma(pT)/pT = sigma_rphi pT / (0.3 B L^2) sqrt(720 / (N + 4)), L in m, pT in GeV
    sigma_rphi = np.sqrt(np.mean(np.r_[np.full(4, 0.015), np.full(6, 0.017)] ** 2)) * 1e-3
    lever_arm = (1020 - 32) * 1e-3
    expected = sigma_rphi * pt / (0.3 * bfield * lever_arm**2) * np.sqrt(720 / 14)
    measured = np.std(smeared / pt)
    assert 0.5 * expected < measured < 2 * expected


def test_stepping_without_material_reproduces_the_helix(geometry: Geometry) -> None:
    rng = np.random.default_rng(7)
    n = 300
    particles = make_particles(
        rng.uniform(0.2, 5, n),
        rng.uniform(-3.5, 3.5, n),
        rng.uniform(-np.pi, np.pi, n),
        rng.choice([-1.0, 1.0], n),
    )
    massless = replace(geometry, material=np.zeros_like(geometry.material))
    plain = propagate(particles, geometry, 2.0)
    stepped = propagate(particles, massless, 2.0, scattering=True, rng=rng)
    np.testing.assert_array_equal(stepped.particle, plain.particle)
    np.testing.assert_array_equal(stepped.surface, plain.surface)
    np.testing.assert_allclose(stepped.position, plain.position, atol=1e-6)
    np.testing.assert_allclose(stepped.momentum, plain.momentum, atol=1e-9)
