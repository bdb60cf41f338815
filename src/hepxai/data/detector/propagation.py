"""Charged particles through a uniform solenoid field: analytic helix crossings with cylinders and disks.

A particle of charge ``q`` and transverse momentum ``pT`` in a field ``B`` along z moves on a helix of radius
``R = pT / (0.3 |q| B)`` (R in m, pT in GeV, B in T) and pitch ``2 pi R pz / pT``. The transverse path
length ``s`` parametrises it; with ``u`` the transverse direction, ``n`` its left normal and the signed
curvature ``kappa = -0.3 q B / pT``::

    x_T(s) = x_T(0) + u sin(kappa s) / kappa + n (1 - cos(kappa s)) / kappa,    z(s) = z(0) + s pz / pT

Crossings with cylinders are the intersections of two circles (the track's and the layer's), computed in
the chord form that stays exact for nearly straight tracks; crossings with disks are where ``z(s)`` reaches
the disk. At ``B = 0`` tracks are straight lines. Every step is vectorised over particles and surfaces.

A particle stops when it leaves the tracker envelope or has turned by ``max_turns`` full turns (default 0.5:
the first half-turn, which is where a particle from the beam line is farthest from it, so a looper leaves
hits on its way out only). All crossings of the unscattered helices come from one evaluation. With multiple
scattering on, every particle is then stepped through that same sequence of surfaces along its scattered
helix and deflected at each (Highland formula, the layer's material scaled by 1/cos of the incidence angle):
one surface per particle per step instead of all of them. The approximation: a scattered particle that
would newly touch a surface which its unscattered helix just missed (within the scattering displacement of
that surface's edge) does not; one that now misses a surface of its sequence leaves no hit there. Energy
loss, decays in flight and nuclear interactions are not simulated.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from hepxai.data.detector.geometry import Geometry

C_LIGHT = 0.299792458e-3  # GeV / (T mm): R[mm] = pT[GeV] / (C_LIGHT |q| B[T])
STEP_EPSILON_MM = 1e-3  # a crossing this close to the start point is the one the particle sits on
_MAX_PATH_FACTOR = 20.0  # caps the 1/cos(incidence) growth of the traversed material at grazing incidence


@dataclass(frozen=True)
class Particles:
    """Charged particles to propagate. Positions in mm, momenta and masses in GeV."""

    vertex: np.ndarray  # [N, 3] production point
    momentum: np.ndarray  # [N, 3] at production
    charge: np.ndarray  # [N] in units of e; 0 leaves no hits
    mass: np.ndarray  # [N]


@dataclass(frozen=True)
class Crossings:
    """Where particles cross sensitive surfaces, in the order each particle reaches them."""

    particle: np.ndarray  # [H] index into Particles
    surface: np.ndarray  # [H] index into the Geometry's surfaces
    position: np.ndarray  # [H, 3] mm
    momentum: np.ndarray  # [H, 3] GeV, before any scattering in that layer
    order: np.ndarray  # [H] 0, 1, 2, ... along each particle's trajectory


def helix_radius(pt: np.ndarray | float, charge: np.ndarray | float, bfield: float) -> np.ndarray | float:
    """Radius in mm of the transverse circle: ``pT / (0.3 |q| B)`` with pT in GeV, B in T."""
    return pt / (C_LIGHT * np.abs(charge) * bfield)


def propagate(
    particles: Particles,
    geometry: Geometry,
    bfield: float,
    *,
    max_turns: float = 0.5,
    scattering: bool = False,
    rng: np.random.Generator | None = None,
) -> Crossings:
    """All crossings of charged ``particles`` with the sensitive surfaces of ``geometry``.

    Args:
        particles: the particles; neutral ones are skipped.
        geometry: the surfaces and the envelope.
        bfield: solenoid field along z in T (0 gives straight tracks).
        max_turns: full turns after which a particle is dropped (0.5: the first half-turn).
        scattering: deflect particles at each crossing (multiple scattering); needs ``rng``.
        rng: random numbers for the scattering angles.
    """
    charged = np.flatnonzero(particles.charge != 0)
    tracks = _Tracks(
        index=charged,
        position=particles.vertex[charged].astype(np.float64),
        momentum=particles.momentum[charged].astype(np.float64),
        charge=particles.charge[charged].astype(np.float64),
        mass=particles.mass[charged].astype(np.float64),
    )
    if scattering and rng is None:
        msg = "propagate: scattering needs an rng"
        raise ValueError(msg)
    # paths of missed surfaces are inf, and positions evaluated there NaN: they never pass a range check
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        crossings = _all_crossings(tracks, geometry, bfield, max_turns)
        if not scattering:
            return crossings
        return _scattered_crossings(crossings, tracks, geometry, bfield, rng)


@dataclass(frozen=True)
class _Tracks:
    index: np.ndarray  # [N] particle index, increasing
    position: np.ndarray  # [N, 3]
    momentum: np.ndarray  # [N, 3]
    charge: np.ndarray  # [N]
    mass: np.ndarray  # [N]


@dataclass(frozen=True)
class _Helix:
    """The transverse frame of each particle's helix at its current point."""

    start: np.ndarray  # [N, 3]
    direction: np.ndarray  # [N, 2] u
    normal: np.ndarray  # [N, 2] n, u rotated by +90 degrees
    kappa: np.ndarray  # [N] signed curvature (1/mm), > 0 turns counter-clockwise
    tan_lambda: np.ndarray  # [N] pz / pT

    @classmethod
    def of(cls, position: np.ndarray, momentum: np.ndarray, charge: np.ndarray, bfield: float) -> _Helix:
        pt = np.hypot(momentum[:, 0], momentum[:, 1])
        direction = momentum[:, :2] / pt[:, None]
        return cls(
            start=position,
            direction=direction,
            normal=np.stack([-direction[:, 1], direction[:, 0]], axis=1),
            kappa=-C_LIGHT * charge * bfield / pt,
            tan_lambda=momentum[:, 2] / pt,
        )

    @property
    def straight(self) -> bool:
        """Whether the field is off (every particle is charged, so kappa = 0 only at B = 0)."""
        return bool(np.all(self.kappa == 0))

    def offsets(self, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Displacements along ``u`` and ``n`` after transverse path ``path [N, ...]`` (finite values).

        ``sin(k s) / k`` and ``2 sin^2(k s / 2) / k`` keep full precision for nearly straight tracks.
        """
        if self.straight:
            return path, np.zeros_like(path)
        kappa = self.kappa.reshape((-1,) + (1,) * (path.ndim - 1))
        return np.sin(kappa * path) / kappa, 2 * np.sin(0.5 * kappa * path) ** 2 / kappa

    def at(self, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``[N, 3]`` and transverse directions ``[N, 2]`` after transverse paths ``path [N]``."""
        along, across = self.offsets(path)
        transverse = self.start[:, :2] + self.direction * along[:, None] + self.normal * across[:, None]
        z = self.start[:, 2] + path * self.tan_lambda
        angle = (self.kappa * path)[:, None]
        direction = self.direction * np.cos(angle) + self.normal * np.sin(angle)
        return np.concatenate([transverse, z[:, None]], axis=1), direction

    def cylinder_paths(self, radius: np.ndarray) -> np.ndarray:
        """Transverse path lengths ``[N, C, 2]`` to the crossings with cylinders ``radius [C]`` (inf: none).

        ``radius`` may also be ``[N, 1]``, one cylinder per particle.

        Helices: both intersections of the track circle (centre ``c``, radius ``R``) with the layer circle,
        ``a c_hat +- h c_perp`` where ``a = (r^2 + d^2 - R^2) / 2d`` and ``d^2 - R^2 = |x|^2 + 2 x.n / kappa``
        (no cancellation between huge numbers); the turning angle to each comes from the chord. The paths lie
        in (0, 2 pi / |kappa|]. Straight lines: the positive roots of ``|x + u s|^2 = r^2``.
        """
        start = self.start[:, :2]
        radius_sq = np.atleast_2d(radius) ** 2  # [1, C], or [N, 1] for one cylinder per particle
        if self.straight:
            b = np.einsum("ij,ij->i", start, self.direction)[:, None]
            disc = b**2 - np.einsum("ij,ij->i", start, start)[:, None] + radius_sq
            root = np.sqrt(np.maximum(disc, 0))
            paths = np.stack([-b - root, -b + root], axis=-1)
            return np.where((disc >= 0)[..., None] & (paths > STEP_EPSILON_MM), paths, np.inf)
        kappa = self.kappa
        centre = start + self.normal / kappa[:, None]
        distance = np.maximum(np.hypot(centre[:, 0], centre[:, 1]), 1e-12)
        start_u = np.einsum("ij,ij->i", start, self.direction)
        start_n = np.einsum("ij,ij->i", start, self.normal)
        power = np.einsum("ij,ij->i", start, start) + 2 * start_n / kappa
        a = (radius_sq + power[:, None]) / (2 * distance[:, None])  # [N, C]
        h_sq = radius_sq - a**2
        h = np.sqrt(np.maximum(h_sq, 0))[..., None] * np.array([-1.0, 1.0])  # [N, C, 2]
        # the chord from the start to each crossing a c_hat + h c_perp, projected on u and n
        c_hat = centre / distance[:, None]
        c_u, c_n = (
            np.einsum("ij,ij->i", c_hat, axis)[:, None, None] for axis in (self.direction, self.normal)
        )
        along = a[..., None] * c_u - h * c_n - start_u[:, None, None]  # c_perp.u = -c_hat.n
        across = a[..., None] * c_n + h * c_u - start_n[:, None, None]  # c_perp.n = c_hat.u
        k = kappa[:, None, None]
        angle = np.arctan2(k * along, 1 - k * across)
        period = 2 * np.pi / np.abs(k)
        paths = np.mod(angle / k, period)
        paths = np.where(paths <= STEP_EPSILON_MM, paths + period, paths)
        return np.where((h_sq >= 0)[..., None], paths, np.inf)

    def plane_paths(self, z: np.ndarray) -> np.ndarray:
        """Transverse path lengths ``[N, D]`` to the planes ``z``, ``[D]`` or ``[N, 1]`` (inf: none ahead)."""
        paths = (np.atleast_2d(z) - self.start[:, 2:3]) / self.tan_lambda[:, None]
        return np.where(np.isfinite(paths) & (paths > STEP_EPSILON_MM), paths, np.inf)

    def exit_path(self, geometry: Geometry, turns_left: np.ndarray) -> np.ndarray:
        """Path ``[N]`` at which each particle leaves the envelope or runs out of turns."""
        r = np.hypot(self.start[:, 0], self.start[:, 1])
        outside = (r >= geometry.envelope_radius) | (
            np.abs(self.start[:, 2]) >= geometry.envelope_half_length
        )
        barrel = self.cylinder_paths(np.array([geometry.envelope_radius])).min(axis=(1, 2))
        half = geometry.envelope_half_length
        ends = self.plane_paths(np.array([-half, half])).min(axis=1)
        with np.errstate(divide="ignore"):
            turn_limit = np.where(self.kappa == 0, np.inf, turns_left / np.abs(self.kappa))
        return np.where(outside, 0.0, np.minimum(np.minimum(barrel, ends), turn_limit))

    def candidates(self, geometry: Geometry, max_turns: float) -> tuple[np.ndarray, np.ndarray]:
        """Paths ``[N, K]`` to every crossing within the turn budget (inf: none), and their surfaces ``[K]``.

        The envelope is not applied here.
        """
        barrel = geometry.barrel
        cylinders = np.flatnonzero(barrel)
        disks = np.flatnonzero(~barrel)
        paths = self.cylinder_paths(geometry.radius[cylinders])  # [N, C, 2]
        if not self.straight and max_turns > 1:
            period = (2 * np.pi / np.abs(self.kappa))[:, None, None, None]
            paths = (paths[..., None] + period * np.arange(int(np.ceil(max_turns)))).reshape(
                len(paths), len(cylinders), -1
            )
        z = self.start[:, 2, None, None] + paths * self.tan_lambda[:, None, None]
        paths = np.where(np.abs(z) <= geometry.half_length[cylinders][None, :, None], paths, np.inf)
        disk_paths = self.plane_paths(geometry.z[disks])
        along, across = self.offsets(np.where(np.isfinite(disk_paths), disk_paths, 0.0))
        start = self.start[:, :2]
        r_sq = (
            np.einsum("ij,ij->i", start, start)[:, None]
            + 2 * along * np.einsum("ij,ij->i", start, self.direction)[:, None]
            + 2 * across * np.einsum("ij,ij->i", start, self.normal)[:, None]
            + along**2
            + across**2
        )
        inside = (r_sq >= geometry.r_min[disks] ** 2) & (r_sq <= geometry.r_max[disks] ** 2)
        disk_paths = np.where(inside, disk_paths, np.inf)
        surfaces = np.concatenate([np.repeat(cylinders, paths.shape[2]), disks])
        return np.concatenate([paths.reshape(len(paths), -1), disk_paths], axis=1), surfaces


def _all_crossings(tracks: _Tracks, geometry: Geometry, bfield: float, max_turns: float) -> Crossings:
    helix = _Helix.of(tracks.position, tracks.momentum, tracks.charge, bfield)
    paths, surfaces = helix.candidates(geometry, max_turns)
    exit_path = helix.exit_path(geometry, np.full(len(paths), 2 * np.pi * max_turns))
    row, column = np.nonzero(paths <= exit_path[:, None])
    path = paths[row, column]
    sort = np.lexsort((path, row))
    row, column, path = row[sort], column[sort], path[sort]
    position, direction = _Helix(
        helix.start[row], helix.direction[row], helix.normal[row], helix.kappa[row], helix.tan_lambda[row]
    ).at(path)
    return Crossings(
        particle=tracks.index[row],
        surface=surfaces[column],
        position=position,
        momentum=_momentum(tracks.momentum[row], direction),
        order=rank_within(row),
    )


def _scattered_crossings(
    plain: Crossings, tracks: _Tracks, geometry: Geometry, bfield: float, rng: np.random.Generator
) -> Crossings:
    """Step every particle through the surfaces of its unscattered helix, deflecting it at each.

    Step ``k`` moves all particles at once from their ``k-1``-th crossing to the next surface of their
    unscattered sequence along the scattered helix; a particle that now misses that surface (near its edge)
    leaves no hit there and continues from where it was.
    """
    row = np.searchsorted(tracks.index, plain.particle)
    position, momentum = tracks.position.copy(), tracks.momentum.copy()
    hit_position, hit_momentum = np.empty_like(plain.position), np.empty_like(plain.momentum)
    reached = np.zeros(len(row), bool)
    by_step = np.argsort(plain.order, kind="stable")
    bounds = np.searchsorted(plain.order[by_step], np.arange(int(plain.order.max(initial=-1)) + 2))
    for first, last in itertools.pairwise(bounds):
        now = by_step[first:last]
        rows, surface = row[now], plain.surface[now]
        helix = _Helix.of(position[rows], momentum[rows], tracks.charge[rows], bfield)
        barrel = geometry.barrel[surface]
        path = np.empty(len(now))
        path[barrel] = (
            _select(helix, barrel).cylinder_paths(geometry.radius[surface[barrel], None]).min(axis=(1, 2))
        )
        path[~barrel] = _select(helix, ~barrel).plane_paths(geometry.z[surface[~barrel], None])[:, 0]
        point, direction = helix.at(np.where(np.isfinite(path), path, 0.0))
        r = np.hypot(point[:, 0], point[:, 1])
        on_surface = np.isfinite(path) & np.where(
            barrel,
            np.abs(point[:, 2]) <= geometry.half_length[surface],
            (r >= geometry.r_min[surface]) & (r <= geometry.r_max[surface]),
        )
        now, rows, surface, point = now[on_surface], rows[on_surface], surface[on_surface], point[on_surface]
        arrival = _momentum(momentum[rows], direction[on_surface])
        hit_position[now], hit_momentum[now], reached[now] = point, arrival, True
        position[rows] = point
        momentum[rows] = _scatter(
            arrival, point, tracks.charge[rows], tracks.mass[rows], surface, geometry, rng
        )
    return Crossings(
        particle=plain.particle[reached],
        surface=plain.surface[reached],
        position=hit_position[reached],
        momentum=hit_momentum[reached],
        order=rank_within(plain.particle[reached]),
    )


def _scatter(
    momentum: np.ndarray,
    position: np.ndarray,
    charge: np.ndarray,
    mass: np.ndarray,
    surface: np.ndarray,
    geometry: Geometry,
    rng: np.random.Generator,
) -> np.ndarray:
    """Deflect ``momentum`` by two Gaussian angles of width given by the Highland formula (PDG 34.16)."""
    p = np.linalg.norm(momentum, axis=1)
    direction = momentum / p[:, None]
    r = np.hypot(position[:, 0], position[:, 1])
    radial_cos = (direction[:, 0] * position[:, 0] + direction[:, 1] * position[:, 1]) / r
    cos_incidence = np.abs(np.where(geometry.barrel[surface], radial_cos, direction[:, 2]))
    thickness = geometry.material[surface] * np.minimum(
        1 / np.maximum(cos_incidence, 1e-12), _MAX_PATH_FACTOR
    )
    theta0 = highland_angle(p, mass, charge, thickness)
    axis = np.where(np.abs(direction[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
    first = np.cross(axis, direction)
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    second = np.cross(direction, first)
    angles = rng.normal(size=(len(p), 2)) * theta0[:, None]
    turned = direction + np.tan(angles[:, :1]) * first + np.tan(angles[:, 1:]) * second
    return turned / np.linalg.norm(turned, axis=1, keepdims=True) * p[:, None]


def highland_angle(
    p: np.ndarray, mass: np.ndarray | float, charge: np.ndarray | float, thickness: np.ndarray
) -> np.ndarray:
    """Width of the projected multiple-scattering angle (rad) after ``thickness`` radiation lengths.

    The Highland formula (PDG 34.16) for momentum ``p`` (GeV), ``mass`` (GeV) and ``charge`` (e).
    """
    beta = p / np.hypot(p, mass)
    return (
        0.0136
        / (beta * p)
        * np.abs(charge)
        * np.sqrt(thickness)
        * np.maximum(1 + 0.038 * np.log(thickness * charge**2 / beta**2), 0)
    )


def _select(helix: _Helix, chosen: np.ndarray) -> _Helix:
    return _Helix(*(getattr(helix, name)[chosen] for name in helix.__dataclass_fields__))


def _momentum(momentum: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The momentum with its transverse part turned to ``direction`` (pT and pz unchanged in the field)."""
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    return np.concatenate([direction * pt[:, None], momentum[:, 2:3]], axis=1)


def rank_within(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of ``group`` (a hit's position along its particle)."""
    if len(group) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
