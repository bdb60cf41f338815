"""From one event to at most one jet: the Higgs jet (signal) or the leading jet (QCD), with labels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hepxai.data.simulate import clustering, impact, tracks
from hepxai.data.simulate.association import NO_PV
from hepxai.data.simulate.generation import Process
from hepxai.data.simulate.particles import Event
from hepxai.data.simulate.pileup import Pileup, overlay
from hepxai.data.simulate.primary_vertex import TrackLines, concatenate_lines, find_vertices
from hepxai.data.simulate.tracker import (
    MeasuredTracks,
    Tracker,
    associate,
    measure_tracks,
    reconstruct_tracks,
    smear_calorimeter,
    subset,
    track_lines,
)

JET_PT_MIN = 300.0  # GeV
JET_ETA_MAX = 2.4
MIN_TRACKS = 2
HADRON_MATCH_RADIUS = 0.8  # a hadron is inside the jet within this dR of its axis
# the tracker: particles within REGION_RADIUS of a generated jet (cut loosened by GENERATOR_CUT_MARGIN) are
# reconstructed and reclustered; the reconstructed jet within MATCH_RADIUS of it is the one kept
REGION_RADIUS, GENERATOR_CUT_MARGIN, MATCH_RADIUS = 1.2, 1.2, 0.4
QCD_LABELS = ("label_QCD_b", "label_QCD_bb", "label_QCD_c", "label_QCD_cc", "label_QCD_others")
LABELS = ("label_H_bb", "sample_isQCD", *QCD_LABELS)


def select_jet(
    event: Event,
    process: Process,
    rng: np.random.Generator,
    *,
    max_tracks: int,
    tracker: Tracker | None = None,
    pileup: Pileup | None = None,
) -> dict[str, np.ndarray | float | int] | None:
    """The jet of ``event`` in the ntuple's branches, or None when the event has no acceptable jet.

    Signal: the jet (pT > 300 GeV, |eta| < 2.4) containing both b hadrons of the Higgs decay within
    dR < 0.8. Background: the leading jet, if it passes the same cuts. Either needs >= 2 tracks.

    Args:
        event: the visible final state.
        process: which sample the event belongs to.
        rng: draws the primary-vertex and track smearing.
        max_tracks: keep at most this many tracks (the largest ``trackBTag_Sip2dSig``).
        tracker: measure the tracks with this detector; None smears the generated ones (resolution model).
        pileup: with ``tracker``, overlay pile-up interactions near the jet before the detector.

    Returns:
        Per-track branches as [num_tracks] arrays, per-jet branches as scalars.
    """
    jets = clustering.anti_kt_jets(event.momentum)
    if process == "background":
        candidates = jets[:1]
    else:
        if len(event.higgs_b_hadrons) != 2:
            return None
        candidates = [jet for jet in jets if _inside(jet.momentum, event.higgs_b_hadrons).all()]
    loosen = 1.0 if tracker is None else GENERATOR_CUT_MARGIN
    candidates = [jet for jet in candidates if _passes_cuts(jet.momentum, loosen)]
    if not candidates:
        return None
    if tracker is None:
        jet = candidates[0]
        measured = _smeared_tracks(event, jet, rng)
        constituents = event.momentum[jet.constituents]
    else:
        event, far = _region(event, candidates[0], pileup, rng)
        reconstructed = _reconstructed_jet(event, far, candidates[0], tracker, rng)
        if reconstructed is None:
            return None
        jet, constituents, measured = reconstructed
        if not _passes_cuts(jet.momentum) or (
            process == "signal" and not _inside(jet.momentum, event.higgs_b_hadrons).all()
        ):
            return None
    if len(measured.particle) < MIN_TRACKS:
        return None
    track_index = measured.particle
    groomed = clustering.soft_drop(constituents)
    features, order = tracks.track_features(
        measured.momentum,
        measured.charge,
        event.pdg_id[track_index],
        measured.ips,
        jet=jet.momentum,
        subjets=groomed.subjets,
        measured=measured.measured,
    )
    keep = track_index[order][:max_tracks]
    record: dict[str, np.ndarray | float | int] = {
        name: values[:max_tracks] for name, values in features.items()
    }
    record["track_fromB"] = event.from_b[keep].astype(np.int32)
    record["track_fromPU"] = event.from_pileup[keep].astype(np.int32)
    record["track_pdgId"] = event.pdg_id[keep].astype(np.int32)
    for axis, name in enumerate(("track_vx", "track_vy", "track_vz")):
        record[name] = event.vertex[keep, axis].astype(np.float32)
    num_b = int(_inside(jet.momentum, event.b_hadrons).sum())
    num_c = int(_inside(jet.momentum, event.c_hadrons).sum())
    record.update(_labels(process, num_b, num_c))
    record["fj_pt"] = float(np.hypot(jet.momentum[0], jet.momentum[1]))
    record["fj_sdmass"] = groomed.mass
    record["fj_mass"] = _mass(jet.momentum)
    record["fj_isH"] = int(process == "signal")
    record["fj_nbHadrons"] = num_b
    record["fj_pvDz"] = float(measured.primary_vertex[2] - event.primary_vertex[2])
    return record


def _smeared_tracks(event: Event, jet: clustering.Jet, rng: np.random.Generator) -> MeasuredTracks:
    """The jet's generated charged constituents with smeared impact parameters (none when fewer than
    ``MIN_TRACKS``, before any random draw)."""
    constituents = jet.constituents
    chosen = constituents[tracks.select_tracks(event.momentum[constituents], event.charge[constituents])]
    if len(chosen) < MIN_TRACKS:
        return MeasuredTracks.none()
    primary_vertex = event.primary_vertex + rng.standard_normal(3) * impact.PRIMARY_VERTEX_RESOLUTION_CM
    momentum = event.momentum[chosen]
    ips = impact.measure(momentum, event.vertex[chosen], primary_vertex, jet.momentum[:3], rng)
    return MeasuredTracks(chosen, momentum, event.charge[chosen], ips, {}, primary_vertex)


def _region(
    event: Event, generated: clustering.Jet, pileup: Pileup | None, rng: np.random.Generator
) -> tuple[Event, TrackLines]:
    """The particles of the crossing (the event and the pile-up, if any) within ``REGION_RADIUS`` of a
    generated jet, the pile-up ones last; and the other charged particles of the crossing as track lines
    from the resolution model, for the vertex reconstruction only (the detector simulation of the whole
    crossing would cost ~30 times more)."""
    columns = [event.momentum, event.pdg_id, event.charge, event.vertex, event.from_b]
    from_pileup = np.zeros(len(event.charge), bool)
    if pileup is not None:
        added = overlay(pileup.library, pileup.mu, rng)
        extra = [added.momentum, added.pdg_id, added.charge, added.vertex, np.zeros(len(added.charge), bool)]
        columns = [np.concatenate(pair) for pair in zip(columns, extra, strict=True)]
        from_pileup = np.concatenate([from_pileup, np.ones(len(added.charge), bool)])
    momentum, pdg_id, charge, vertex, from_b = columns
    near = clustering.delta_r(generated.momentum, momentum) < REGION_RADIUS
    region = replace(
        event,
        momentum=momentum[near],
        pdg_id=pdg_id[near],
        charge=charge[near],
        vertex=vertex[near],
        from_b=from_b[near],
        from_pileup=from_pileup[near],
    )
    far = ~near & tracks.select_tracks(momentum, charge)
    return region, impact.resolution_model_lines(momentum[far], vertex[far], rng)


def _reconstructed_jet(
    region: Event, far: TrackLines, generated: clustering.Jet, tracker: Tracker, rng: np.random.Generator
) -> tuple[clustering.Jet, np.ndarray, MeasuredTracks] | None:
    """The jet reclustered from the reconstructed particles of the ``region`` around a generated jet: its
    fitted tracks and the other particles with their calorimeter-smeared energies; with its constituents'
    four-momenta and its measured tracks (``particle`` indexes the region). Tracks associated with a
    pile-up vertex (``fromPV`` = 0) are left out of the clustering (CMS's charged-hadron subtraction, with
    the generated jet's axis for the association's b-tag compatibility). The vertices are found from the
    fitted tracks and the ``far`` ones (the rest of the crossing). None when no vertex is found
    among the tracks or no reconstructed jet lies within ``MATCH_RADIUS`` of the generated one."""
    fitted, four = reconstruct_tracks(
        tracker, region.momentum, region.charge, region.pdg_id, region.vertex, rng
    )
    vertices = find_vertices(
        concatenate_lines(track_lines(fitted), far),
        np.concatenate([fitted.normchi2, np.zeros(len(far.reference))]),
    )
    vertices = replace(vertices, weight=vertices.weight[:, : len(fitted.particle)])
    others = np.setdiff1d(np.arange(len(region.charge)), fitted.particle)
    calorimeter = smear_calorimeter(region.momentum[others], region.pdg_id[others], rng)
    if len(vertices) == 0:
        return None
    association = associate(fitted, region.pdg_id[fitted.particle], vertices, generated.momentum[:3])
    # charged-hadron subtraction, as CMS's CHS jets: tracks in the fit of another good vertex are left out
    kept = np.flatnonzero(association["track_fromPV"] != NO_PV)
    momentum = np.concatenate([four[kept], calorimeter])
    jets = [jet for jet in clustering.anti_kt_jets(momentum) if np.any(jet.momentum[:2])]
    distance = [clustering.delta_r(generated.momentum, jet.momentum[None, :3])[0] for jet in jets]
    if not jets or min(distance) > MATCH_RADIUS:
        return None
    jet = jets[int(np.argmin(distance))]
    rows = kept[jet.constituents[jet.constituents < len(kept)]]
    measured = measure_tracks(
        subset(fitted, rows),
        four[rows],
        vertices,
        jet.momentum[:3],
        {name: values[rows] for name, values in association.items()},
    )
    return jet, momentum[jet.constituents], measured


def _labels(process: Process, num_b: int, num_c: int) -> dict[str, int]:
    labels = dict.fromkeys(LABELS, 0)
    if process == "signal":
        labels["label_H_bb"] = 1
        return labels
    labels["sample_isQCD"] = 1
    if num_b >= 2:
        labels["label_QCD_bb"] = 1
    elif num_b == 1:
        labels["label_QCD_b"] = 1
    elif num_c >= 2:
        labels["label_QCD_cc"] = 1
    elif num_c == 1:
        labels["label_QCD_c"] = 1
    else:
        labels["label_QCD_others"] = 1
    return labels


def _passes_cuts(momentum: np.ndarray, loosen: float = 1.0) -> bool:
    """The jet cuts; ``loosen`` > 1 lowers the pT cut by that factor and widens |eta| by (loosen - 1)."""
    pt = np.hypot(momentum[0], momentum[1])
    return bool(pt > JET_PT_MIN / loosen and abs(np.arcsinh(momentum[2] / pt)) < JET_ETA_MAX + loosen - 1)


def _inside(jet: np.ndarray, hadrons: np.ndarray) -> np.ndarray:
    """Which of ``hadrons`` [k, 3] lie within dR < 0.8 of the ``jet`` [4] axis (pseudorapidity, phi)."""
    if len(hadrons) == 0:
        return np.zeros(0, bool)
    return clustering.delta_r(jet, hadrons) < HADRON_MATCH_RADIUS


def _mass(momentum: np.ndarray) -> float:
    return float(np.sqrt(max(momentum[3] ** 2 - np.sum(momentum[:3] ** 2), 0.0)))
