"""Track fits from hits: a circle fit for the transverse momentum, and a helix fit with its covariance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepxai.data.detector.digitization import Hits
from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import C_LIGHT, highland_angle


def fit_circle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``[2]`` and radius of the circle through ``points [N, 2]`` (N >= 3), in the points' units.

    The algebraic fit of Kasa: ``x^2 + y^2 + D x + E y + F = 0`` by linear least squares, solved in
    coordinates centred on the points' mean for conditioning. Unbiased enough for tracks whose hits span a
    large arc; the first step of most track fits.
    """
    mean = points.mean(axis=0)
    x, y = (points - mean).T
    design = np.stack([x, y, np.ones_like(x)], axis=1)
    (d, e, f), *_ = np.linalg.lstsq(design, -(x**2 + y**2), rcond=None)
    centre = np.array([-d / 2, -e / 2])
    return centre + mean, float(np.sqrt(centre @ centre - f))


def fitted_pt(points: np.ndarray, bfield: float, charge: float = 1.0) -> float:
    """pT in GeV of a particle of ``charge`` whose hits ``points [N, 2]`` (mm) lie on a circle, field in T."""
    return C_LIGHT * abs(charge) * bfield * fit_circle(points)[1]


HELIX_PARAMETERS = ("d0", "z0", "phi", "tan_lambda", "q_over_pt")  # mm, mm, rad, pz/pT, e/GeV
MIN_FIT_HITS = 5  # ten measurements for five parameters
PION_MASS = 0.13957  # GeV, the mass hypothesis for multiple scattering
_ITERATIONS = 6  # Gauss-Newton steps from the three-hit estimate
_PATH_ITERATIONS = 4  # Newton steps to a barrel layer's radius
_DERIVATIVE_STEPS = np.array([1e-4, 1e-4, 1e-7, 1e-7, 1e-7])  # finite-difference steps per parameter
_MAX_PATH_FACTOR = 20.0  # as in propagation: material at grazing incidence is capped


@dataclass(frozen=True)
class PaddedHits:
    """The measured hits of ``T`` tracks, at most ``H`` each, in the order the particle crossed them.

    Positions in mm, relative to the point the impact parameters refer to; padding has ``valid`` False.
    """

    position: np.ndarray  # [T, H, 3]
    barrel: np.ndarray  # [T, H] bool: a cylinder (measures r-phi and z) or a disk (r-phi and r)
    resolution_across: np.ndarray  # [T, H] sigma along phi (mm)
    resolution_along: np.ndarray  # [T, H] sigma along z (barrel) or r (disk) (mm)
    material: np.ndarray  # [T, H] radiation lengths at normal incidence
    valid: np.ndarray  # [T, H] bool


@dataclass(frozen=True)
class HelixFit:
    """Each track's perigee parameters (``HELIX_PARAMETERS``, w.r.t. the z axis), covariance and chi2."""

    parameters: np.ndarray  # [T, 5]
    covariance: np.ndarray  # [T, 5, 5]
    chi2: np.ndarray  # [T]
    ndof: np.ndarray  # [T] 2 x hits - 5


def pad_hits(hits: Hits, geometry: Geometry, particles: np.ndarray, origin: np.ndarray) -> PaddedHits:
    """The hits of ``particles`` (indices into the propagated particles; noise ignored) as one row per
    particle, positions relative to ``origin`` ``[3]`` (mm)."""
    row_of = np.full(max(int(hits.particle.max(initial=-1)), int(particles.max(initial=-1))) + 2, -1)
    row_of[particles] = np.arange(len(particles))
    row = row_of[hits.particle]  # noise (-1) maps to the last entry, -1
    mine = row >= 0
    row, order, surface = row[mine], hits.order[mine], hits.surface[mine]
    shape = (len(particles), int(order.max(initial=-1)) + 1)
    position = np.zeros((*shape, 3))
    position[row, order] = hits.position[mine] - origin
    valid = np.zeros(shape, bool)
    valid[row, order] = True
    on = np.zeros(shape, np.int64)
    on[row, order] = surface
    return PaddedHits(
        position=position,
        barrel=geometry.barrel[on],
        resolution_across=geometry.resolution_across[on],
        resolution_along=geometry.resolution_along[on],
        material=geometry.material[on],
        valid=valid,
    )


def fit_helices(hits: PaddedHits, bfield: float, charge: np.ndarray) -> HelixFit:
    """Least-squares helix fits of ``T`` tracks at once, multiple scattering included.

    The parameters are those of the perigee, the point of closest approach to the z axis: the signed
    distance ``d0`` (the point is ``d0 (-sin phi, cos phi)``, CMS's ``dxy`` sign), its ``z0``, the direction
    ``phi`` and ``tan lambda = pz / pT`` there, and ``q / pT``. Each hit measures two coordinates on its
    surface (``r phi`` and z on a cylinder, ``r phi`` and r on a disk). Their covariance adds to the sensor
    resolution the displacements that multiple scattering in every earlier hit layer causes (Highland
    angle for a pion of the fitted momentum, path lengths from the fitted helix), so the fit is a
    generalised least squares with correlated measurements (a global fit, equivalent to a Kalman filter
    with smoother). Gauss-Newton from a three-hit estimate, derivatives by finite differences.

    Args:
        hits: the tracks' hits, at least ``MIN_FIT_HITS`` each.
        bfield: solenoid field along z (T).
        charge: [T] the particles' charges (e); only the momentum of the scattering angles needs them.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # padding: zeros, masked out of every sum
        return _fit(hits, bfield, charge)


def _fit(hits: PaddedHits, bfield: float, charge: np.ndarray) -> HelixFit:
    parameters = _initial_estimate(hits, bfield)
    # batched matrix products (BLAS) rather than three-operand einsums, which loop without it
    for _ in range(_ITERATIONS):
        residual, jacobian, weight = _linearise(parameters, hits, bfield, charge)
        weighted = jacobian.transpose(0, 2, 1) @ weight  # J^T W
        information = weighted @ jacobian
        gradient = (weighted @ residual[..., None])[..., 0]
        parameters = parameters + np.linalg.solve(information, gradient[..., None])[..., 0]
    residual, jacobian, weight = _linearise(parameters, hits, bfield, charge)
    information = jacobian.transpose(0, 2, 1) @ weight @ jacobian
    return HelixFit(
        parameters=parameters,
        covariance=np.linalg.inv(information),
        chi2=(residual[:, None, :] @ weight @ residual[..., None])[:, 0, 0],
        ndof=2 * hits.valid.sum(axis=1) - len(HELIX_PARAMETERS),
    )


def _initial_estimate(hits: PaddedHits, bfield: float) -> np.ndarray:
    """Parameters from the first, middle and last hit: the circle through them, a track through the origin."""
    last = hits.valid.sum(axis=1) - 1
    rows = np.arange(len(last))
    first, middle, final = (hits.position[rows, k] for k in (np.zeros_like(last), last // 2, last))
    a, b, c = (point[:, :2] for point in (first, middle, final))
    turn = (b - a)[:, 0] * (c - b)[:, 1] - (b - a)[:, 1] * (c - b)[:, 0]
    chords = np.linalg.norm(b - a, axis=1) * np.linalg.norm(c - b, axis=1) * np.linalg.norm(c - a, axis=1)
    kappa = 2 * turn / chords  # > 0 turns counter-clockwise
    r_first, r_final = np.linalg.norm(a, axis=1), np.linalg.norm(c, axis=1)
    tan_lambda = (final[:, 2] - first[:, 2]) / (r_final - r_first)
    return np.stack(
        [
            np.zeros_like(kappa),
            first[:, 2] - tan_lambda * r_first,
            np.arctan2(a[:, 1], a[:, 0]) - kappa * r_first / 2,
            tan_lambda,
            -kappa / (C_LIGHT * bfield),
        ],
        axis=1,
    )


def _linearise(
    parameters: np.ndarray, hits: PaddedHits, bfield: float, charge: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residuals ``[T, 2H]`` (measured - predicted), Jacobian ``[T, 2H, 5]``, weight ``[T, 2H, 2H]``."""
    residual, path, direction = _residuals(parameters, hits, bfield)
    shifted = parameters[:, None, :] + np.diag(_DERIVATIVE_STEPS)  # [T, 5, 5]
    jacobian = np.stack(
        [(residual - _residuals(shifted[:, k], hits, bfield)[0]) / _DERIVATIVE_STEPS[k] for k in range(5)],
        axis=-1,
    )  # derivative of the prediction
    return residual, jacobian, np.linalg.inv(_covariance(parameters, hits, path, direction, charge))


def _residuals(
    parameters: np.ndarray, hits: PaddedHits, bfield: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Measured minus predicted coordinates ``[T, 2H]`` (r-phi first, then z or r), with the transverse
    path ``[T, H]`` from the perigee to each hit's surface and the transverse direction ``[T, H, 2]`` there.
    """
    d0, z0, phi, tan_lambda, q_over_pt = (column[:, None] for column in parameters.T)
    kappa = -C_LIGHT * bfield * q_over_pt
    u = np.stack([np.cos(phi), np.sin(phi)], axis=-1)  # [T, 1, 2]
    n = np.stack([-np.sin(phi), np.cos(phi)], axis=-1)
    start = d0[..., None] * n
    measured = hits.position
    r_measured = np.hypot(measured[..., 0], measured[..., 1])

    def point(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        along = path * np.sinc(kappa * path / np.pi)  # sin(k s) / k, exact at k = 0
        across = 0.5 * kappa * path**2 * np.sinc(kappa * path / (2 * np.pi)) ** 2  # (1 - cos k s) / k
        angle = (kappa * path)[..., None]
        return start + u * along[..., None] + n * across[..., None], u * np.cos(angle) + n * np.sin(angle)

    path = np.einsum("thi,thi->th", measured[..., :2] - start, np.broadcast_to(u, measured[..., :2].shape))
    for _ in range(_PATH_ITERATIONS):  # Newton towards |x(s)| = r on the cylinders
        position, direction = point(path)
        step = (np.einsum("thi,thi->th", position, position) - r_measured**2) / (
            2 * np.einsum("thi,thi->th", position, direction)
        )
        path = np.where(hits.barrel, path - step, path)
    disk_path = (measured[..., 2] - z0) / tan_lambda
    path = np.where(hits.barrel | ~hits.valid, path, disk_path)
    path = np.where(hits.valid, path, 0.0)
    position, direction = point(path)
    z = z0 + path * tan_lambda
    r = np.hypot(position[..., 0], position[..., 1])
    delta_phi = np.angle(
        (measured[..., 0] + 1j * measured[..., 1]) * (position[..., 0] - 1j * position[..., 1])
    )
    across = r_measured * delta_phi
    along = np.where(hits.barrel, measured[..., 2] - z, r_measured - r)
    residual = np.concatenate([across, along], axis=1)
    return np.where(np.concatenate([hits.valid, hits.valid], axis=1), residual, 0.0), path, direction


def _covariance(
    parameters: np.ndarray, hits: PaddedHits, path: np.ndarray, direction: np.ndarray, charge: np.ndarray
) -> np.ndarray:
    """Measurement covariance ``[T, 2H, 2H]``: sensor resolution plus multiple scattering.

    A scattering angle ``theta`` at hit layer ``k`` displaces a later hit ``i`` by ``theta L_ik``
    perpendicular to the track (``L_ik`` the 3D path between them): along ``r phi`` as it is, along z on
    a cylinder by ``-1 / sin(theta)`` and along r on a disk by ``1 / cos(theta)`` (opposite signs, so the
    two are anti-correlated). The small tilt between the
    track's transverse normal and the ``phi`` direction of a cylinder is neglected.
    """
    tan_lambda, q_over_pt = parameters[:, 3:4], parameters[:, 4:5]
    secant = np.sqrt(1 + tan_lambda**2)  # 3D path per transverse path, 1 / sin(theta)
    momentum = secant / np.abs(q_over_pt)
    position = hits.position
    r = np.hypot(position[..., 0], position[..., 1])
    radial_cos = np.abs(np.einsum("thi,thi->th", position[..., :2], direction)) / np.maximum(r, 1e-9)
    cos_incidence = np.where(hits.barrel, radial_cos, np.abs(tan_lambda)) / secant
    thickness = hits.material * np.minimum(1 / np.maximum(cos_incidence, 1e-12), _MAX_PATH_FACTOR)
    theta_sq = np.where(
        hits.valid, highland_angle(momentum, PION_MASS, charge[:, None], np.maximum(thickness, 1e-12)) ** 2, 0
    )
    lever = np.maximum(path[:, :, None] - path[:, None, :], 0) * secant[..., None]  # [T, i, k]
    lever = np.where(hits.valid[:, :, None] & hits.valid[:, None, :], lever, 0.0)
    scattering = np.einsum("tik,tjk,tk->tij", lever, lever, theta_sq)
    # a polar deflection moves a later hit by -1/sin(theta) in z on a cylinder, +1/cos(theta) in r on a disk
    safe_tan = np.where(np.abs(tan_lambda) > 1e-9, tan_lambda, 1e-9)
    projection = np.where(hits.barrel, secant, -secant / safe_tan)
    across_sq = np.where(hits.valid, hits.resolution_across**2, 1.0)
    along_sq = np.where(hits.valid, hits.resolution_along**2, 1.0)
    num_hits = position.shape[1]
    covariance = np.zeros((len(r), 2 * num_hits, 2 * num_hits))
    covariance[:, :num_hits, :num_hits] = scattering + _diagonal(across_sq)
    covariance[:, num_hits:, num_hits:] = scattering * projection[:, :, None] * projection[
        :, None, :
    ] + _diagonal(along_sq)
    return covariance


def _diagonal(values: np.ndarray) -> np.ndarray:
    return values[:, :, None] * np.eye(values.shape[1])
