"""The jets' charged particles through the tracking detector, and their tracks measured from the hits.

Each charged particle is propagated from its production vertex (decays in flight included) through the
detector of :mod:`hepxai.data.detector` (default geometry, 2 T, multiple scattering, 99% hit efficiency),
its hits digitised and, with truth-seeded pattern recognition (a particle's hits form its track), fitted
with a helix (:func:`hepxai.data.detector.track_fit.fit_helices`) in the frame of the primary vertex. The
fit gives the track's momentum, its perigee and their covariance; the hit pattern gives the lost inner
hits and, with the fit's chi2, the quality flag. Units: cm and GeV, as in the ntuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hepxai.data.detector.digitization import digitize
from hepxai.data.detector.geometry import Geometry, load_geometry
from hepxai.data.detector.propagation import Particles, propagate
from hepxai.data.detector.simulation import DetectorSettings
from hepxai.data.detector.track_fit import MIN_FIT_HITS, fit_helices, pad_hits
from hepxai.data.simulate.association import vertex_association
from hepxai.data.simulate.impact import ImpactParameters, impact_parameters
from hepxai.data.simulate.primary_vertex import TrackLines, Vertices, find_vertices
from hepxai.data.simulate.tracks import TRACK_ETA_MAX, TRACK_PT_MIN, mass_hypothesis, select_tracks
from hepxai.data.simulate.vertices import drminsv, secondary_vertices

MM_PER_CM = 10.0
# a track is highPurity-like with at least this many hits, this many pixel hits, and chi2/ndof below this
HIGH_PURITY_HITS, HIGH_PURITY_PIXEL_HITS, HIGH_PURITY_NORMCHI2 = 8, 2, 5.0
LOOSE, HIGH_PURITY = 1, 4  # bits of CMS's trackQuality mask (loose, highPurity)
NORMCHI2_MAX = 255  # MiniAOD stores chi2/ndof as an 8-bit integer, truncated
VALID_FIRST_PIXEL_BARREL_HIT = -1  # CMS lostInnerHits: -1, 0, 1 and 2 (two or more)
# calorimeter energy resolution sigma(E)/E = a / sqrt(E / GeV) (+) b, roughly CMS's ECAL and HCAL
ECAL_RESOLUTION, HCAL_RESOLUTION = (0.03, 0.005), (1.0, 0.05)
_MARGIN = 1.1  # propagated: generator pT above the track cut / 1.1, |eta| below the cut + 0.1


@dataclass(frozen=True)
class Tracker:
    """The detector the jets' particles cross; noise hits are left out (pattern recognition uses truth)."""

    geometry: Geometry = field(default_factory=load_geometry)
    settings: DetectorSettings = field(default_factory=DetectorSettings)


@dataclass(frozen=True)
class Tracks:
    """Fitted tracks, one per reconstructed particle; the covariance is CMS's ``reco::Track`` one."""

    particle: np.ndarray  # [T] index of the particle among the inputs
    momentum: np.ndarray  # [T, 3] at the perigee (GeV)
    charge: np.ndarray  # [T] sign of the fitted curvature
    reference: np.ndarray  # [T, 3] the perigee, the point closest to the primary vertex's z axis (cm)
    covariance: np.ndarray  # [T, 5, 5] of (q/p, lambda, phi, dxy, dsz), GeV and cm
    normchi2: np.ndarray  # [T] chi2 / ndof, truncated to an integer as in MiniAOD
    lost_inner_hits: np.ndarray  # [T] CMS enumeration: -1, 0, 1, 2
    quality: np.ndarray  # [T] CMS quality mask: 1 (loose) or 5 (loose + highPurity)


def reconstruct(
    tracker: Tracker,
    momentum: np.ndarray,
    charge: np.ndarray,
    vertex: np.ndarray,
    primary_vertex: np.ndarray,
    rng: np.random.Generator,
) -> Tracks:
    """The tracks of the charged particles that leave at least ``MIN_FIT_HITS`` hits and fit.

    Args:
        momentum: [N, 4] px, py, pz, E at production (GeV).
        charge: [N] nonzero charges.
        vertex: [N, 3] production vertices (cm).
        primary_vertex: [3] the reconstructed primary vertex (cm); impact parameters refer to it.
        rng: draws scattering, hit efficiency and smearing.
    """
    geometry, settings = tracker.geometry, tracker.settings
    mass = np.sqrt(np.maximum(momentum[:, 3] ** 2 - np.sum(momentum[:, :3] ** 2, axis=1), 0.0))
    crossings = propagate(
        Particles(vertex * MM_PER_CM, momentum[:, :3], charge, mass),
        geometry,
        settings.bfield,
        max_turns=settings.max_turns,
        scattering=settings.scattering,
        rng=rng,
    )
    hits = digitize(crossings, geometry, replace(settings.digitization, noise_per_module=0.0), rng)
    num_hits = np.bincount(hits.particle, minlength=len(charge))
    candidates = np.flatnonzero(num_hits >= MIN_FIT_HITS)
    origin = primary_vertex * MM_PER_CM
    fit = fit_helices(pad_hits(hits, geometry, candidates, origin), settings.bfield, charge[candidates])
    converged = (
        np.all(np.isfinite(fit.parameters), axis=1)
        & np.all(np.isfinite(fit.covariance), axis=(1, 2))
        & np.isfinite(fit.chi2)
        & (fit.parameters[:, 4] != 0)
    )
    particle, parameters = candidates[converged], fit.parameters[converged]
    d0, z0, phi, tan_lambda, q_over_pt = parameters.T
    pt = 1 / np.abs(q_over_pt)
    fitted_momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * tan_lambda], axis=1)
    fitted_charge = np.sign(q_over_pt)
    perigee = np.stack([-d0 * np.sin(phi), d0 * np.cos(phi), z0], axis=1)
    normchi2 = fit.chi2[converged] / fit.ndof[converged]
    is_pixel = np.array([technology == "pixel" for technology in geometry.technology])
    pixel_hits = np.bincount(hits.particle[is_pixel[hits.surface]], minlength=len(charge))[particle]
    high_purity = (
        (num_hits[particle] >= HIGH_PURITY_HITS)
        & (pixel_hits >= HIGH_PURITY_PIXEL_HITS)
        & (normchi2 < HIGH_PURITY_NORMCHI2)
    )
    first_surface = np.full(len(charge), -1)
    first_surface[hits.particle[hits.order == 0]] = hits.surface[hits.order == 0]
    lost = _lost_inner_hits(
        tracker, origin + perigee, fitted_momentum, fitted_charge, mass[particle], first_surface[particle]
    )
    return Tracks(
        particle=particle,
        momentum=fitted_momentum,
        charge=fitted_charge,
        reference=primary_vertex + perigee / MM_PER_CM,
        covariance=cms_covariance(parameters, fit.covariance[converged]),
        normchi2=np.minimum(np.floor(normchi2), NORMCHI2_MAX),
        lost_inner_hits=lost,
        quality=np.where(high_purity, LOOSE + HIGH_PURITY, LOOSE),
    )


def cms_covariance(parameters: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """The covariance ``[T, 5, 5]`` of CMS's track parameters (q/p, lambda, phi, dxy, dsz) in GeV and cm,
    from the helix fit's (d0, z0, phi, tan lambda, q/pT) in mm.

    ``q/p = (q/pT) cos(lambda)``, ``lambda = arctan(tan lambda)``, ``dxy = d0`` and ``dsz = z0 cos(lambda)``
    at the perigee; the covariance follows by the Jacobian of this change of variables.
    """
    _, z0, _, tan_lambda, q_over_pt = parameters.T
    cos_lambda = 1 / np.sqrt(1 + tan_lambda**2)
    d_cos = -tan_lambda * cos_lambda**3  # d cos(lambda) / d tan(lambda)
    jacobian = np.zeros((len(parameters), 5, 5))
    jacobian[:, 0, 4] = cos_lambda
    jacobian[:, 0, 3] = q_over_pt * d_cos
    jacobian[:, 1, 3] = cos_lambda**2
    jacobian[:, 2, 2] = 1.0
    jacobian[:, 3, 0] = 1 / MM_PER_CM
    jacobian[:, 4, 1] = cos_lambda / MM_PER_CM
    jacobian[:, 4, 3] = z0 * d_cos / MM_PER_CM
    return jacobian @ covariance @ jacobian.transpose(0, 2, 1)


def covariance_features(tracks: Tracks) -> dict[str, np.ndarray]:
    """The covariance branches of the CMS ntuples: elements of ``reco::Track::covariance()``.

    Despite their names, ``track_dptdpt`` is var(q/p) and ``track_detadeta`` var(lambda); ``track_dzdz``
    is var(dsz), ``track_dxydz`` cov(dxy, dsz), ``track_dlambdadz`` cov(lambda, dsz).
    """
    c = tracks.covariance
    return {
        "track_dptdpt": c[:, 0, 0],
        "track_detadeta": c[:, 1, 1],
        "track_dphidphi": c[:, 2, 2],
        "track_dxydxy": c[:, 3, 3],
        "track_dzdz": c[:, 4, 4],
        "track_dxydz": c[:, 3, 4],
        "track_dphidxy": c[:, 2, 3],
        "track_dlambdadz": c[:, 1, 4],
    }


def _lost_inner_hits(
    tracker: Tracker,
    perigee: np.ndarray,
    momentum: np.ndarray,
    charge: np.ndarray,
    mass: np.ndarray,
    first_surface: np.ndarray,
) -> np.ndarray:
    """CMS's lostInnerHits from the hit pattern: the sensitive surfaces the fitted track crosses between its
    perigee (``[T, 3]`` mm) and its first hit without leaving a hit; -1 when the first hit is on the
    innermost barrel layer."""
    geometry = tracker.geometry
    crossings = propagate(
        Particles(perigee, momentum, charge, mass), geometry, tracker.settings.bfield, max_turns=0.5
    )
    track = crossings.particle
    at_first = crossings.surface == first_surface[track]
    before = np.full(len(charge), 0)
    reached = np.zeros(len(charge), bool)
    # crossings are grouped by track and ordered along it; the first crossing of the first hit's surface
    first_index = np.flatnonzero(at_first & ~_seen_before(track, at_first))
    before[track[first_index]] = crossings.order[first_index]
    reached[track[first_index]] = True
    innermost = np.flatnonzero(geometry.barrel)[np.argmin(geometry.radius[geometry.barrel])]
    lost = np.minimum(np.where(reached, before, 0), 2)
    return np.where((lost == 0) & (first_surface == innermost), VALID_FIRST_PIXEL_BARREL_HIT, lost)


def _seen_before(group: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Whether ``flag`` was already true earlier in the same run of ``group`` (runs are contiguous)."""
    count = np.cumsum(flag)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, int)
    at_start = np.repeat(count[starts] - flag[starts], np.diff(np.r_[starts, len(group)]))
    return (count - flag - at_start) > 0


@dataclass(frozen=True)
class MeasuredTracks:
    """A jet's tracks passing the track selection, ready for the feature computation."""

    particle: np.ndarray  # [T] indices into the particles given
    momentum: np.ndarray  # [T, 4] fitted (energy from the mass hypothesis), or generated
    charge: np.ndarray  # [T]
    ips: ImpactParameters | None
    measured: dict[str, np.ndarray]  # the features only the fit provides
    primary_vertex: np.ndarray | None = None  # [3] the reconstructed primary vertex (cm)

    @classmethod
    def none(cls) -> MeasuredTracks:
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), None, {})


def measure_jet_tracks(
    tracker: Tracker,
    momentum: np.ndarray,
    charge: np.ndarray,
    pdg_id: np.ndarray,
    vertex: np.ndarray,
    *,
    jet_direction: np.ndarray,
    rng: np.random.Generator,
) -> MeasuredTracks | None:
    """Reconstruct a jet's charged particles, find the vertices among their tracks and measure the tracks
    that pass the track selection w.r.t. the primary vertex; None when no vertex is found."""
    tracks, four = reconstruct_tracks(tracker, momentum, charge, pdg_id, vertex, rng)
    vertices = find_vertices(track_lines(tracks), tracks.normchi2)
    if len(vertices) == 0:
        return None
    association = associate(tracks, pdg_id[tracks.particle], vertices, jet_direction)
    return measure_tracks(tracks, four, vertices, jet_direction, association)


def reconstruct_tracks(
    tracker: Tracker,
    momentum: np.ndarray,
    charge: np.ndarray,
    pdg_id: np.ndarray,
    vertex: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Tracks, np.ndarray]:
    """The tracks with fitted pT > 1 GeV and |eta| < 2.5 (``particle`` indexes the inputs), and their
    four-momenta ``[T, 4]`` with the mass hypothesis; perigees w.r.t. the beam line (the z axis).

    Only particles within a margin of those cuts at generator level go through the detector (a track fitted
    across the cut from further away would need a 10% mismeasurement).
    """
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    eta = np.arcsinh(momentum[:, 2] / np.maximum(pt, 1e-12))
    nearly = np.flatnonzero(
        (charge != 0) & (pt > TRACK_PT_MIN / _MARGIN) & (np.abs(eta) < TRACK_ETA_MAX + _MARGIN - 1)
    )
    tracks = reconstruct(tracker, momentum[nearly], charge[nearly], vertex[nearly], np.zeros(3), rng)
    p3 = tracks.momentum
    energy = np.sqrt(np.sum(p3**2, axis=1) + mass_hypothesis(pdg_id[nearly][tracks.particle]) ** 2)
    four = np.concatenate([p3, energy[:, None]], axis=1)
    kept = select_tracks(four, tracks.charge)
    selected = subset(tracks, kept)
    return replace(selected, particle=nearly[selected.particle]), four[kept]


def subset(tracks: Tracks, rows: np.ndarray) -> Tracks:
    """The tracks at ``rows`` (a mask or indices)."""
    return Tracks(**{name: getattr(tracks, name)[rows] for name in tracks.__dataclass_fields__})


def track_lines(tracks: Tracks) -> TrackLines:
    """The tracks as lines with the covariance of (dxy, dz), ``dz = dsz / cos(lambda)``."""
    p3, covariance = tracks.momentum, tracks.covariance
    cos_lambda = np.hypot(p3[:, 0], p3[:, 1]) / np.linalg.norm(p3, axis=1)
    scale = np.stack([np.ones_like(cos_lambda), 1 / cos_lambda], axis=1)
    return TrackLines(tracks.reference, p3, covariance[:, 3:, 3:] * scale[:, :, None] * scale[:, None, :])


def lifetime_impact_parameters(
    lines: TrackLines, vertices: Vertices, jet_direction: np.ndarray
) -> ImpactParameters:
    """Impact parameters of ``lines`` w.r.t. the primary vertex (``vertices``' first, with its errors),
    lifetime-signed along ``jet_direction``."""
    return impact_parameters(
        lines.reference,
        lines.momentum,
        np.sqrt(lines.covariance[:, 0, 0]),
        np.sqrt(lines.covariance[:, 1, 1]),
        vertices.position[0],
        jet_direction,
        lines.covariance[:, 0, 1],
        vertex_error=np.sqrt(np.diag(vertices.covariance[0])),
    )


def associate(
    tracks: Tracks, pdg_id: np.ndarray, vertices: Vertices, jet_direction: np.ndarray
) -> dict[str, np.ndarray]:
    """``track_VTX_ass``, ``track_fromPV`` and ``track_puppiw`` of ``tracks`` (the ones ``vertices`` were
    found from), the b-tag compatibility taken along ``jet_direction``."""
    lines = track_lines(tracks)
    ips = lifetime_impact_parameters(lines, vertices, jet_direction)
    return vertex_association(lines, vertices, vertices.weight, ips, pdg_id)


def measure_tracks(
    tracks: Tracks,
    four: np.ndarray,
    vertices: Vertices,
    jet_direction: np.ndarray,
    association: dict[str, np.ndarray],
) -> MeasuredTracks:
    """Impact parameters w.r.t. the primary vertex (``vertices``' first) signed along ``jet_direction`` and
    secondary vertices of fitted ``tracks`` with four-momenta ``four``; their ``association``
    (:func:`associate`) is carried into the features."""
    ips = lifetime_impact_parameters(track_lines(tracks), vertices, jet_direction)
    primary_vertex = vertices.position[0]
    found = secondary_vertices(
        tracks.reference, four, tracks.charge, ips.sip3d / ips.sip3d_error, ips.dxy_error, primary_vertex
    )
    measured = {
        **covariance_features(tracks),
        "track_normchi2": tracks.normchi2,
        "track_lostInnerHits": tracks.lost_inner_hits,
        "track_quality": tracks.quality,
        "track_drminsv": drminsv(four, found),
        **association,
    }
    return MeasuredTracks(tracks.particle, four, tracks.charge, ips, measured, primary_vertex)


def smear_calorimeter(momentum: np.ndarray, pdg_id: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four-momenta ``[N, 4]`` of particles measured by their energy alone, scaled by a Gaussian energy
    resolution: ECAL-like for photons and electrons, HCAL-like for the rest (direction kept)."""
    energy = np.maximum(momentum[:, 3], 1e-9)
    electromagnetic = np.isin(np.abs(pdg_id), (11, 22))
    stochastic = np.where(electromagnetic, ECAL_RESOLUTION[0], HCAL_RESOLUTION[0])
    constant = np.where(electromagnetic, ECAL_RESOLUTION[1], HCAL_RESOLUTION[1])
    scale = 1 + np.hypot(stochastic / np.sqrt(energy), constant) * rng.standard_normal(len(energy))
    return momentum * np.maximum(scale, 0.0)[:, None]
