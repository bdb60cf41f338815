"""Physics names of the CMS track inputs, and their categories: what axes and the report print instead of
branch names, and the fixed row order (by category) that makes heatmaps of different jets comparable.

Names not in the glossary (other schemas, the sanity set's ``f0`` ...) are printed as they are, after the
known ones in their given order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# category -> {branch: label}; categories and features in the order the rows are drawn
GLOSSARY: dict[str, dict[str, str]] = {
    "kinematics": {
        "track_pt": "track pT",
        "track_ptrel": "pT relative to the jet",
        "track_erel": "E / jet E",
        "track_etarel": "Δη to the jet axis",
        "track_phirel": "Δφ to the jet axis",
        "track_deltaR": "ΔR to the jet axis",
        "track_mass": "track mass",
        "track_charge": "charge",
        "track_puppiw": "PUPPI weight",
    },
    "impact parameter": {
        "track_dxy": "d_xy",
        "track_dxysig": "d_xy significance",
        "track_dz": "d_z",
        "track_dzsig": "d_z significance",
        "trackBTag_Sip2dVal": "2D signed IP",
        "trackBTag_Sip2dSig": "2D signed IP significance",
        "trackBTag_Sip3dVal": "3D signed IP",
        "trackBTag_Sip3dSig": "3D signed IP significance",
        "trackBTag_JetDistVal": "distance to the jet axis",
    },
    "b-tag kinematics": {
        "trackBTag_Momentum": "momentum",
        "trackBTag_Eta": "η",
        "trackBTag_EtaRel": "η relative to the jet",
        "trackBTag_PtRel": "pT transverse to the jet",
        "trackBTag_PPar": "p along the jet",
        "trackBTag_PtRatio": "pT ratio to the jet",
        "trackBTag_PParRatio": "p ratio along the jet",
        "trackBTag_DeltaR": "ΔR to the jet (b-tag)",
    },
    "identity and vertex": {
        "track_isMu": "is muon",
        "track_isEl": "is electron",
        "track_isChargedHad": "is charged hadron",
        "track_fromPV": "from primary vertex",
        "track_VTX_ass": "vertex association",
        "track_drminsv": "ΔR to the nearest SV",
        "track_drsubjet1": "ΔR to subjet 1",
        "track_drsubjet2": "ΔR to subjet 2",
    },
    "track fit": {
        "track_normchi2": "χ² / ndf",
        "track_quality": "fit quality",
        "track_lostInnerHits": "lost inner hits",
        "track_dptdpt": "σ²(pT)",
        "track_detadeta": "σ²(η)",
        "track_dphidphi": "σ²(φ)",
        "track_dxydxy": "σ²(d_xy)",
        "track_dzdz": "σ²(d_z)",
        "track_dxydz": "cov(d_xy, d_z)",
        "track_dphidxy": "cov(φ, d_xy)",
        "track_dlambdadz": "cov(λ, d_z)",
    },
}
_RANK = {name: rank for rank, name in enumerate(n for names in GLOSSARY.values() for n in names)}
_LABEL = {name: label for names in GLOSSARY.values() for name, label in names.items()}
_CATEGORY = {name: category for category, names in GLOSSARY.items() for name in names}


def feature_label(name: str) -> str:
    """The physics name of an input branch (``trackBTag_Sip3dSig`` → ``3D signed IP significance``)."""
    return _LABEL.get(name, name)


def feature_category(name: str) -> str:
    """The glossary category of an input branch, ``other`` if it has none."""
    return _CATEGORY.get(name, "other")


def grouped_order(names: Sequence[str]) -> np.ndarray:
    """Indices of ``names`` by category and, within one, in the glossary's order; unknown names last."""
    return np.array(sorted(range(len(names)), key=lambda i: (_RANK.get(names[i], len(_RANK)), i)), dtype=int)
