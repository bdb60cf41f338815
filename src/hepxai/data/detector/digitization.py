"""From crossings to measured hits: hit efficiency, Gaussian smearing per technology, module ids, noise hits.

Smearing is applied in each surface's own coordinates: across (along phi, ``resolution_across / r`` in
angle) and along (z on a barrel cylinder, r on a disk), so a measured hit stays on its surface. A missed hit
(efficiency) still counts as material the particle crossed. Noise hits are spread uniformly over each
surface's area, a Poisson number with mean ``noise_per_module`` times its modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import Crossings, rank_within


@dataclass(frozen=True)
class Digitization:
    """How crossings become hits."""

    smearing: bool = True
    efficiency: float = 0.99  # probability that a crossing leaves a hit
    noise_per_module: float = 0.002  # mean noise hits per module per event


@dataclass(frozen=True)
class Hits:
    """Measured hits with their truth; noise hits have ``particle == -1`` and ``order == -1``."""

    particle: np.ndarray  # [H] index into the propagated particles, -1 for noise
    surface: np.ndarray  # [H]
    position: np.ndarray  # [H, 3] measured, mm
    true_position: np.ndarray  # [H, 3] mm
    true_momentum: np.ndarray  # [H, 3] GeV (0 for noise)
    order: np.ndarray  # [H] 0, 1, 2, ... along the particle among its recorded hits
    module_id: np.ndarray  # [H]


def digitize(
    crossings: Crossings, geometry: Geometry, config: Digitization, rng: np.random.Generator
) -> Hits:
    """Hits of ``crossings`` after efficiency and smearing, followed by the noise hits."""
    kept = rng.random(len(crossings.particle)) < config.efficiency
    particle, surface = crossings.particle[kept], crossings.surface[kept]
    true_position = crossings.position[kept]
    order = rank_within(particle)  # crossings are grouped by particle and ordered along it
    position = _smear(true_position, surface, geometry, rng) if config.smearing else true_position
    noise_surface, noise_position = _noise(geometry, config.noise_per_module, rng)
    surface = np.concatenate([surface, noise_surface])
    true_all = np.concatenate([true_position, noise_position])
    return Hits(
        particle=np.concatenate([particle, np.full(len(noise_surface), -1)]),
        surface=surface,
        position=np.concatenate([position, noise_position]),
        true_position=true_all,
        true_momentum=np.concatenate([crossings.momentum[kept], np.zeros((len(noise_surface), 3))]),
        order=np.concatenate([order, np.full(len(noise_surface), -1)]),
        module_id=geometry.module_id(surface, true_all),
    )


def _smear(
    position: np.ndarray, surface: np.ndarray, geometry: Geometry, rng: np.random.Generator
) -> np.ndarray:
    r = np.hypot(position[:, 0], position[:, 1])
    phi = np.arctan2(position[:, 1], position[:, 0])
    across, along = rng.normal(size=(2, len(surface)))
    phi = phi + across * geometry.resolution_across[surface] / r
    along = along * geometry.resolution_along[surface]
    barrel = geometry.barrel[surface]
    r = np.where(barrel, r, r + along)
    z = np.where(barrel, position[:, 2] + along, position[:, 2])
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def _noise(geometry: Geometry, per_module: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(per_module * geometry.num_modules())
    surface = np.repeat(np.arange(geometry.num_surfaces), counts)
    barrel = geometry.barrel[surface]
    phi = rng.uniform(-np.pi, np.pi, len(surface))
    uniform = rng.random(len(surface))
    half_length = geometry.half_length[surface]
    r_min_sq, r_max_sq = geometry.r_min[surface] ** 2, geometry.r_max[surface] ** 2
    # uniform over the area: z uniform on a cylinder, r^2 uniform on a disk
    r = np.where(barrel, geometry.radius[surface], np.sqrt(r_min_sq + uniform * (r_max_sq - r_min_sq)))
    z = np.where(barrel, (2 * uniform - 1) * half_length, geometry.z[surface])
    return surface, np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
