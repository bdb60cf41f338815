"""Association of fitted tracks with the primary vertex, in CMS's enumerations (``track_VTX_ass``,
``track_fromPV``), from each track's compatibility with the vertex.

A track's weight in the vertex fit is the adaptive vertex fitter's, ``1 / (1 + exp((chi2 - chi_c^2) / 2T))``
with ``chi2`` of its (dxy, dz) w.r.t. the vertex, ``chi_c = 3`` and the final temperature ``T = 1``. Then,
as CMS's PrimaryVertexAssignment orders it: used in the fit (weight > 0.5: tight, > ``LOOSE_WEIGHT``:
loose), else compatible in dz (|dz| < ``MAX_DZ_CM`` and < ``MAX_DZ_SIGNIFICANCE`` sigma), else compatible
as a b-tag track (passes within ``MAX_JET_DISTANCE_CM`` of the jet axis, |dz| < ``MAX_BTAG_DZ_CM``), else
"other dz". Without pile-up the primary vertex is the only one, so no track goes to another vertex
(``fromPV`` never takes ``NoPV``); the vertex position is not refitted from the tracks (it is the generated
one, smeared by its resolution).
"""

from __future__ import annotations

import numpy as np

from hepxai.data.simulate.impact import PRIMARY_VERTEX_RESOLUTION_CM, ImpactParameters

CHI_CUT, TEMPERATURE = 3.0, 1.0
LOOSE_WEIGHT = 0.05
MAX_DZ_CM, MAX_DZ_SIGNIFICANCE = 0.3, 5.0
MAX_JET_DISTANCE_CM, MAX_BTAG_DZ_CM = 0.07, 1.0
# pvAssociationQuality
OTHER_DELTA_Z, COMPATIBILITY_BTAG, COMPATIBILITY_DZ, USED_IN_FIT_LOOSE, USED_IN_FIT_TIGHT = 1, 4, 5, 6, 7
# PackedCandidate::PVAssoc
PV_LOOSE, PV_TIGHT, PV_USED_IN_FIT = 1, 2, 3


def vertex_association(ips: ImpactParameters) -> dict[str, np.ndarray]:
    """``track_VTX_ass`` and ``track_fromPV`` of tracks with impact parameters ``ips`` (w.r.t. the vertex)."""
    dxy_error = np.hypot(ips.dxy_error, PRIMARY_VERTEX_RESOLUTION_CM[0])
    dz_error = np.hypot(ips.dz_error, PRIMARY_VERTEX_RESOLUTION_CM[2])
    chi2 = (ips.dxy / dxy_error) ** 2 + (ips.dz / dz_error) ** 2
    weight = 1 / (1 + np.exp(np.minimum((chi2 - CHI_CUT**2) / (2 * TEMPERATURE), 700.0)))
    abs_dz = np.abs(ips.dz)
    quality = np.select(
        [
            weight > 0.5,
            weight > LOOSE_WEIGHT,
            (abs_dz < MAX_DZ_CM) & (abs_dz < MAX_DZ_SIGNIFICANCE * dz_error),
            (-ips.jet_distance < MAX_JET_DISTANCE_CM) & (abs_dz < MAX_BTAG_DZ_CM),
        ],
        [USED_IN_FIT_TIGHT, USED_IN_FIT_LOOSE, COMPATIBILITY_DZ, COMPATIBILITY_BTAG],
        OTHER_DELTA_Z,
    )
    from_pv = np.select(
        [quality == USED_IN_FIT_TIGHT, quality >= COMPATIBILITY_BTAG], [PV_USED_IN_FIT, PV_TIGHT], PV_LOOSE
    )
    return {"track_VTX_ass": quality.astype(float), "track_fromPV": from_pv.astype(float)}
