"""Impact parameters of straight-line tracks with respect to a reconstructed primary vertex, in cm.

The track line comes from the helix fit (the tracker: through the perigee, along the fitted momentum) or
from the resolution model: the true line (through the production vertex, along the momentum) shifted by
Gaussian offsets in the transverse and longitudinal impact parameters, whose widths follow the CMS Run 2
tracker performance (JINST 9 (2014) P10009) approximately. Curvature in the magnetic field is neglected
over the distance between the line's reference point and the primary vertex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepxai.data.simulate.primary_vertex import TrackLines

DXY_RESOLUTION_CM = (0.0020, 0.0090)  # constant term, multiple-scattering term (x GeV / pT)
DZ_RESOLUTION_CM = (0.0030, 0.0100)  # same, at eta = 0; grows with cosh(eta)
PRIMARY_VERTEX_RESOLUTION_CM = np.array([0.0010, 0.0010, 0.0012])  # x, y, z


@dataclass(frozen=True)
class ImpactParameters:
    """Per-track measured impact parameters and their uncertainties (cm); arrays of shape [num_tracks]."""

    dxy: np.ndarray  # transverse, geometric sign (CMS reco::Track::dxy)
    dz: np.ndarray  # longitudinal
    dxy_error: np.ndarray  # track only
    dz_error: np.ndarray  # track only
    sip2d: np.ndarray  # transverse, lifetime sign w.r.t. the jet axis
    sip2d_error: np.ndarray  # track and vertex
    sip3d: np.ndarray  # three-dimensional, lifetime sign
    sip3d_error: np.ndarray
    jet_distance: np.ndarray  # minus the distance between track line and jet axis (CMS trackBTag_JetDistVal)


def track_resolution(momentum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian widths (cm) of dxy and dz for tracks of ``momentum`` [num_tracks, 4]."""
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    cosh_eta = np.hypot(momentum[:, 2], pt) / pt
    dxy = np.hypot(DXY_RESOLUTION_CM[0], DXY_RESOLUTION_CM[1] / pt)
    dz = np.hypot(DZ_RESOLUTION_CM[0], DZ_RESOLUTION_CM[1] / pt) * cosh_eta
    return dxy, dz


def measure(
    momentum: np.ndarray,
    vertex: np.ndarray,
    primary_vertex: np.ndarray,
    jet_direction: np.ndarray,
    rng: np.random.Generator,
) -> ImpactParameters:
    """Smear the tracks with the resolution model and measure their impact parameters.

    Args:
        momentum: [num_tracks, 4] px, py, pz, E (GeV).
        vertex: [num_tracks, 3] true production vertices (cm).
        primary_vertex: [3] the reconstructed primary vertex (cm).
        jet_direction: [3] the jet momentum; signs lifetime impact parameters.
        rng: draws the track smearing.
    """
    p3 = momentum[:, :3]
    pt = np.hypot(p3[:, 0], p3[:, 1])
    normal = np.stack([-p3[:, 1] / pt, p3[:, 0] / pt, np.zeros_like(pt)], axis=1)  # transverse, left of p
    dxy_error, dz_error = track_resolution(momentum)
    reference = (
        vertex
        + rng.standard_normal(len(pt))[:, None] * dxy_error[:, None] * normal
        + rng.standard_normal(len(pt))[:, None] * dz_error[:, None] * np.array([0.0, 0.0, 1.0])
    )
    return impact_parameters(reference, p3, dxy_error, dz_error, primary_vertex, jet_direction)


def resolution_model_lines(momentum: np.ndarray, vertex: np.ndarray, rng: np.random.Generator) -> TrackLines:
    """Tracks of ``momentum`` [N, 4] made at ``vertex`` [N, 3] (cm) as lines from the resolution model:
    the true line shifted by Gaussian offsets in dxy and dz, with their (dxy, dz) covariance."""
    p3 = momentum[:, :3]
    pt = np.hypot(p3[:, 0], p3[:, 1])
    normal = np.stack([-p3[:, 1] / pt, p3[:, 0] / pt, np.zeros_like(pt)], axis=1)
    dxy_error, dz_error = track_resolution(momentum)
    reference = (
        vertex
        + rng.standard_normal(len(pt))[:, None] * dxy_error[:, None] * normal
        + rng.standard_normal(len(pt))[:, None] * dz_error[:, None] * np.array([0.0, 0.0, 1.0])
    )
    covariance = np.zeros((len(pt), 2, 2))
    covariance[:, 0, 0], covariance[:, 1, 1] = dxy_error**2, dz_error**2
    return TrackLines(reference, p3, covariance)


def impact_parameters(
    reference: np.ndarray,
    p3: np.ndarray,
    dxy_error: np.ndarray,
    dz_error: np.ndarray,
    primary_vertex: np.ndarray,
    jet_direction: np.ndarray,
    dxy_dz_covariance: np.ndarray | float = 0.0,
    *,
    vertex_error: np.ndarray = PRIMARY_VERTEX_RESOLUTION_CM,
) -> ImpactParameters:
    """Impact parameters w.r.t. ``primary_vertex`` of the straight track lines through ``reference``
    ``[num_tracks, 3]`` (cm) along ``p3`` ``[num_tracks, 3]``, with the tracks' dxy and dz errors (cm) and
    their covariance (cm^2); the vertex's errors ``vertex_error`` [3] (x, y, z; cm) are added for the
    lifetime-signed ones."""
    pt = np.hypot(p3[:, 0], p3[:, 1])
    unit = p3 / np.linalg.norm(p3, axis=1, keepdims=True)
    normal = np.stack([-p3[:, 1] / pt, p3[:, 0] / pt, np.zeros_like(pt)], axis=1)
    offset = reference - primary_vertex
    dxy = np.einsum("ij,ij->i", offset, normal)
    along_transverse = (offset[:, 0] * p3[:, 0] + offset[:, 1] * p3[:, 1]) / pt
    dz = offset[:, 2] - along_transverse * p3[:, 2] / pt

    jet = jet_direction / np.linalg.norm(jet_direction)
    pv_xy, pv_z = np.hypot(vertex_error[0], vertex_error[1]) / np.sqrt(2), vertex_error[2]
    sip2d_error = np.hypot(dxy_error, pv_xy)
    sip2d = np.abs(dxy) * _sign(dxy * (normal[:, :2] @ jet[:2]))

    closest = (
        offset - np.einsum("ij,ij->i", offset, unit)[:, None] * unit
    )  # primary vertex -> track, perpendicular
    ip3d = np.linalg.norm(closest, axis=1)
    sin_theta = pt / np.linalg.norm(p3, axis=1)
    longitudinal = dz * sin_theta  # |closest|^2 = dxy^2 + longitudinal^2
    dz_total_error = np.hypot(dz_error, pv_z) * sin_theta
    weighted = (
        (dxy * sip2d_error) ** 2
        + (longitudinal * dz_total_error) ** 2
        + 2 * dxy * longitudinal * dxy_dz_covariance * sin_theta
    )
    fallback = np.hypot(sip2d_error, dz_total_error)
    sip3d_error = np.where(ip3d > 0, np.sqrt(weighted) / np.where(ip3d > 0, ip3d, 1.0), fallback)
    sip3d = ip3d * _sign(closest @ jet)

    cross = np.cross(unit, jet)
    cross_norm = np.linalg.norm(cross, axis=1)
    between_lines = np.abs(np.einsum("ij,ij->i", offset, cross)) / np.where(cross_norm > 0, cross_norm, 1.0)
    jet_distance = -np.where(cross_norm > 0, between_lines, ip3d)
    return ImpactParameters(
        dxy=dxy,
        dz=dz,
        dxy_error=dxy_error,
        dz_error=dz_error,
        sip2d=sip2d,
        sip2d_error=sip2d_error,
        sip3d=sip3d,
        sip3d_error=sip3d_error,
        jet_distance=jet_distance,
    )


def _sign(values: np.ndarray) -> np.ndarray:
    return np.where(values >= 0, 1.0, -1.0)
