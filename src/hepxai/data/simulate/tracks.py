"""The CMS track features of one jet's tracks (cm, GeV), sorted as in the CMS ntuples.

Every feature is either measured (the fitted track of :mod:`hepxai.data.simulate.tracker`) or simulated
(the generated particle, with the impact parameters of the resolution model), derived from those with the
CMS definition, or a documented constant where an honest value needs what is not simulated (see
``CONSTANT_FEATURES``).
"""

from __future__ import annotations

import numpy as np

from hepxai.data.simulate.impact import ImpactParameters

TRACK_PT_MIN = 1.0  # GeV
TRACK_ETA_MAX = 2.5
PT_REL_MAX = 4.0  # GeV, CMS clips trackBTag_PtRel here
SIGNIFICANCE_MIN = -1.0  # CMS floors trackBTag_Sip2dSig and trackBTag_Sip3dSig here
PION_MASS, ELECTRON_MASS, MUON_MASS = 0.1396, 0.000511, 0.10566
NO_SUBJET = -1.0  # track_drsubjet2 when soft drop finds no second prong

# with --resolution-model; through the tracker (the default) every one of them is measured
CONSTANT_FEATURES: dict[str, float] = {
    "track_VTX_ass": 7.0,  # pvAssociationQuality UsedInFitTight: no vertex fit here
    "track_fromPV": 3.0,  # PVUsedInFit
    "track_puppiw": 1.0,  # no pileup, so every particle is kept with weight 1
    "track_drminsv": 0.0,  # min(dR to a secondary vertex, 0.8) - 0.8 with no vertex finder: no vertex found
    "track_lostInnerHits": -1.0,  # valid hit in the first pixel layer
    "track_normchi2": 1.0,  # Gaussian residuals
    "track_quality": 5.0,  # loose + highPurity
    "track_detadeta": 0.0,  # track momenta are not smeared: no eta, phi or pT uncertainty
    "track_dphidphi": 0.0,
    "track_dptdpt": 0.0,
    "track_dlambdadz": 0.0,  # the resolution model has no correlations
    "track_dphidxy": 0.0,
    "track_dxydz": 0.0,
}


def select_tracks(momentum: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Mask of the charged particles with pT > 1 GeV and |eta| < 2.5; ``momentum`` is [num_particles, 4]."""
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    eta = np.arcsinh(momentum[:, 2] / np.maximum(pt, 1e-12))
    return (charge != 0) & (pt > TRACK_PT_MIN) & (np.abs(eta) < TRACK_ETA_MAX)


def mass_hypothesis(pdg_id: np.ndarray) -> np.ndarray:
    """The mass CMS gives a track: the pion's for every hadron (the true mass would leak the species)."""
    abs_id = np.abs(pdg_id)
    return np.where(abs_id == 11, ELECTRON_MASS, np.where(abs_id == 13, MUON_MASS, PION_MASS))


def track_features(
    momentum: np.ndarray,
    charge: np.ndarray,
    pdg_id: np.ndarray,
    ips: ImpactParameters,
    *,
    jet: np.ndarray,
    subjets: np.ndarray,
    measured: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All distinct CMS track features, sorted by ``trackBTag_Sip2dSig`` (largest first).

    Args:
        momentum: [num_tracks, 4] px, py, pz, E (GeV).
        charge: [num_tracks] in units of e.
        pdg_id: [num_tracks] PDG codes (only the lepton flags and the mass hypothesis use them).
        ips: the tracks' impact parameters.
        jet: [4] the fat jet's four-momentum.
        subjets: [k, 4] soft-drop prongs, harder first (k = 1 or 2).
        measured: features the track fit measures, in place of the constants and of the resolution
            model's ``track_dxydxy``/``track_dzdz``.

    Returns:
        ``{feature: [num_tracks] float32}`` and the order applied ([num_tracks] indices into the inputs).
    """
    measured = measured or {}
    p3 = momentum[:, :3]
    pt = np.hypot(p3[:, 0], p3[:, 1])
    magnitude = np.linalg.norm(p3, axis=1)
    eta = np.arcsinh(p3[:, 2] / pt)
    phi = np.arctan2(p3[:, 1], p3[:, 0])
    jet_pt = float(np.hypot(jet[0], jet[1]))
    jet_eta = float(np.arcsinh(jet[2] / jet_pt))
    jet_phi = float(np.arctan2(jet[1], jet[0]))
    jet_axis = jet[:3] / np.linalg.norm(jet[:3])

    eta_rel = np.where(jet_eta >= 0, 1.0, -1.0) * (eta - jet_eta)  # CMS: sign of the jet's eta
    phi_rel = _delta_phi(phi, jet_phi)
    delta_r = np.hypot(eta_rel, phi_rel)
    p_par = p3 @ jet_axis
    p_perp = np.linalg.norm(np.cross(p3, jet_axis), axis=1)
    abs_id = np.abs(pdg_id)
    is_electron, is_muon = abs_id == 11, abs_id == 13

    features = {
        "track_pt": pt,
        "track_ptrel": pt / jet_pt,
        "track_erel": momentum[:, 3] / jet[3],
        "track_etarel": eta_rel,
        "track_phirel": phi_rel,
        "track_deltaR": delta_r,
        "track_charge": charge,
        "track_isEl": is_electron,
        "track_isMu": is_muon,
        "track_isChargedHad": ~(is_electron | is_muon),
        "track_mass": mass_hypothesis(pdg_id),
        "track_drsubjet1": _delta_r(eta, phi, subjets[0]),
        "track_drsubjet2": _delta_r(eta, phi, subjets[1])
        if len(subjets) > 1
        else np.full_like(pt, NO_SUBJET),
        "track_dxy": ips.dxy,
        "track_dz": ips.dz,
        "track_dxydxy": ips.dxy_error**2,
        "track_dzdz": ips.dz_error**2,
        "track_dxysig": ips.dxy / ips.dxy_error,
        "track_dzsig": ips.dz / ips.dz_error,
        "trackBTag_Eta": eta,
        "trackBTag_DeltaR": delta_r,
        "trackBTag_EtaRel": np.arctanh(np.clip(p_par / magnitude, -1 + 1e-7, 1 - 1e-7)),
        "trackBTag_Momentum": magnitude,
        "trackBTag_PPar": p_par,
        "trackBTag_PParRatio": p_par / magnitude,
        "trackBTag_PtRatio": p_perp / magnitude,
        "trackBTag_PtRel": np.minimum(p_perp, PT_REL_MAX),
        "trackBTag_Sip2dVal": ips.sip2d,
        "trackBTag_Sip2dSig": np.maximum(ips.sip2d / ips.sip2d_error, SIGNIFICANCE_MIN),
        "trackBTag_Sip3dVal": ips.sip3d,
        "trackBTag_Sip3dSig": np.maximum(ips.sip3d / ips.sip3d_error, SIGNIFICANCE_MIN),
        "trackBTag_JetDistVal": ips.jet_distance,
        **{name: np.full_like(pt, value) for name, value in CONSTANT_FEATURES.items()},
        **measured,
    }
    order = np.lexsort((-pt, -features["trackBTag_Sip2dSig"]))
    return {name: np.asarray(values, np.float32)[order] for name, values in features.items()}, order


def _delta_phi(phi: np.ndarray, reference: float) -> np.ndarray:
    return (phi - reference + np.pi) % (2 * np.pi) - np.pi


def _delta_r(eta: np.ndarray, phi: np.ndarray, four_momentum: np.ndarray) -> np.ndarray:
    px, py, pz = four_momentum[:3]
    pt = np.hypot(px, py)
    return np.hypot(eta - np.arcsinh(pz / pt), _delta_phi(phi, float(np.arctan2(py, px))))
