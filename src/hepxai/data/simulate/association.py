"""Association of fitted tracks with the reconstructed vertices, in CMS's enumerations: ``track_VTX_ass``
(``pat::PackedCandidate::pvAssociationQuality``), ``track_fromPV`` (``PackedCandidate::fromPV()``) and the
charged particles' ``track_puppiw``.

Each track goes to one vertex, in the order of CMS's ``PrimaryVertexAssignment``:

1. the vertex whose fit gives it the largest weight, if above ``LOOSE_WEIGHT``: ``UsedInFitTight`` (7,
   weight > 0.5) or ``UsedInFitLoose`` (6);
2. else the vertex closest in dz, if |dz| < ``MAX_DZ_CM`` and < ``MAX_DZ_SIGNIFICANCE`` sigma (track and
   vertex errors): ``CompatibilityDz`` (5);
3. else the primary vertex, if the track passes within ``MAX_JET_DISTANCE_CM`` of the jet axis through it
   and |dz| < ``MAX_BTAG_DZ_CM`` (a b-decay track): ``CompatibilityBTag`` (4);
4. else the vertex closest in dz, as ``NotReconstructedPrimary`` (0) when the track is prompt w.r.t. the
   primary vertex in the transverse plane (|dxy| < ``MAX_DXY_CM`` and < ``MAX_DXY_SIGNIFICANCE`` sigma:
   from an interaction without a reconstructed vertex), else ``OtherDeltaZ`` (1).

``fromPV`` (CMSSW's ``PackedCandidate::fromPV(0)``): ``PVUsedInFit`` (3) for ``UsedInFitTight`` to the
primary vertex; ``PVTight`` (2) for any other track associated with it, and for electrons and muons;
``PVLoose`` (1) for tracks associated with another vertex without being in its fit (quality below
``UsedInFitLoose``) or with a vertex of ndof < 4; ``NoPV`` (0) for the tracks in the fit of another good
vertex. ``puppiw``, as CMS's PUPPI treats charged particles: 1 for ``PVUsedInFit``, and for ``PVTight`` and
``PVLoose`` within |dz| < ``PUPPI_DZ_CM`` of the primary vertex; 0 otherwise. The cut values are this
simulation's choices in the spirit of CMS's configuration, not its exact values.
"""

from __future__ import annotations

import numpy as np

from hepxai.data.simulate.impact import ImpactParameters
from hepxai.data.simulate.primary_vertex import TrackLines, Vertices

LOOSE_WEIGHT = 0.05
MAX_DZ_CM, MAX_DZ_SIGNIFICANCE = 0.3, 5.0
MAX_JET_DISTANCE_CM, MAX_BTAG_DZ_CM = 0.07, 1.0
MAX_DXY_CM, MAX_DXY_SIGNIFICANCE = 0.01, 2.0
GOOD_VERTEX_NDOF = 4.0
PUPPI_DZ_CM = 0.3
# pat::PackedCandidate::PVAssociationQuality
NOT_RECONSTRUCTED_PRIMARY, OTHER_DELTA_Z, COMPATIBILITY_BTAG, COMPATIBILITY_DZ = 0, 1, 4, 5
USED_IN_FIT_LOOSE, USED_IN_FIT_TIGHT = 6, 7
# pat::PackedCandidate::PVAssoc
NO_PV, PV_LOOSE, PV_TIGHT, PV_USED_IN_FIT = 0, 1, 2, 3
LEPTONS = (11, 13)


def vertex_association(
    lines: TrackLines,
    vertices: Vertices,
    weight: np.ndarray,
    ips: ImpactParameters,
    pdg_id: np.ndarray,
) -> dict[str, np.ndarray]:
    """``track_VTX_ass``, ``track_fromPV`` and ``track_puppiw`` of tracks.

    Args:
        lines: the tracks, as lines with their (dxy, dz) covariance.
        vertices: the event's vertices, the primary first (at least one).
        weight: [V, T] each track's weight in each vertex's fit.
        ips: the tracks' impact parameters w.r.t. the primary vertex, signed along the jet.
        pdg_id: [T] (electrons and muons count as from the primary vertex, as in CMS).
    """
    num_tracks = len(lines.reference)
    dz = np.stack([lines.residuals(position)[:, 1] for position in vertices.position], axis=1)  # [T, V]
    dz_error = np.sqrt(lines.covariance[:, 1, 1][:, None] + vertices.covariance[None, :, 2, 2])
    closest = np.argmin(np.abs(dz), axis=1)
    rows = np.arange(num_tracks)
    dz_closest, dz_closest_error = np.abs(dz[rows, closest]), dz_error[rows, closest]
    best = np.argmax(weight, axis=0)
    best_weight = weight[best, rows]
    in_fit = best_weight > LOOSE_WEIGHT
    dz_compatible = (dz_closest < MAX_DZ_CM) & (dz_closest < MAX_DZ_SIGNIFICANCE * dz_closest_error)
    btag = (-ips.jet_distance < MAX_JET_DISTANCE_CM) & (np.abs(dz[:, 0]) < MAX_BTAG_DZ_CM)
    prompt = (np.abs(ips.dxy) < MAX_DXY_CM) & (np.abs(ips.dxy) < MAX_DXY_SIGNIFICANCE * ips.sip2d_error)
    quality = np.select(
        [in_fit & (best_weight > 0.5), in_fit, dz_compatible, btag, prompt],
        [
            USED_IN_FIT_TIGHT,
            USED_IN_FIT_LOOSE,
            COMPATIBILITY_DZ,
            COMPATIBILITY_BTAG,
            NOT_RECONSTRUCTED_PRIMARY,
        ],
        OTHER_DELTA_Z,
    )
    vertex = np.where(in_fit, best, np.where(~dz_compatible & btag, 0, closest))
    lepton = np.isin(np.abs(pdg_id), LEPTONS)
    from_pv = np.select(
        [
            (quality == USED_IN_FIT_TIGHT) & (vertex == 0),
            (vertex == 0) | lepton,
            (quality < USED_IN_FIT_LOOSE) | (vertices.ndof[vertex] < GOOD_VERTEX_NDOF),
        ],
        [PV_USED_IN_FIT, PV_TIGHT, PV_LOOSE],
        NO_PV,
    )
    puppi = (from_pv == PV_USED_IN_FIT) | ((from_pv != NO_PV) & (np.abs(dz[:, 0]) < PUPPI_DZ_CM))
    return {
        "track_VTX_ass": quality.astype(float),
        "track_fromPV": from_pv.astype(float),
        "track_puppiw": puppi.astype(float),
    }
