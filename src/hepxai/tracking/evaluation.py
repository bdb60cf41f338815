"""Evaluating a tracking chain over test events: efficiency, purity, TrackML score, time per stage.

A chain is any function from an event's graph to its track candidates (:class:`EventTracks`): the edge
classifier with a cut and connected components, or Truth-CC. Counts add over events, so efficiency and
purity are ratios of sums (as the slides compute them); the TrackML score is the mean over events, as in
the challenge. Every reconstructable particle is kept with its pT, η and whether it was matched, for the
efficiency against pT and η.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.tracking.edge_training import EdgeMetrics, edge_metrics
from hepxai.tracking.metrics import TrackingCounts, match_particles, trackml_score
from hepxai.tracking.reconstruction import EventTracks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainResult:
    """What a chain achieved over a set of events."""

    counts: TrackingCounts  # summed over events
    trackml_score: float  # mean over events
    seconds: dict[str, float]  # stage -> mean seconds per event
    events: int
    particles: (
        pd.DataFrame
    )  # per particle: event_id, particle_id, pt, eta, num_hits, reconstructable, matched
    edges: EdgeMetrics | None  # edge AUC, efficiency and purity at the cut (scored chains only)

    @property
    def efficiency(self) -> float:
        return self.counts.efficiency

    @property
    def purity(self) -> float:
        return self.counts.purity

    @property
    def seconds_per_event(self) -> float:
        return float(sum(self.seconds.values()))


def evaluate_chain(
    events: Iterable[Data],
    chain: Callable[[Data], EventTracks],
    *,
    pt_min: float = 1.0,
    min_hits: int = 5,
    min_candidate_hits: int = 3,
    cut: float = 0.5,
    progress: bool = True,
) -> ChainResult:
    """Run ``chain`` on every event and score its candidates against the truth.

    Args:
        events: Graphs with truth (``particle_id``, ``particle_pt``, ``particle_eta``, ``weight``, ``y``).
        chain: Event → track candidates.
        pt_min: Reconstructable particles have pT above this (GeV).
        min_hits: Reconstructable particles have more hits than this.
        min_candidate_hits: Smaller candidates are not counted as tracks.
        cut: The score cut the chain used, for the edge efficiency and purity.
        progress: Show a progress bar.

    Raises:
        InputError: no events, or an event without truth or without a reconstructable particle.
    """
    counts: TrackingCounts | None = None
    scores, seconds, tables = [], [], []
    all_scores, all_truth = [], []
    for event in tqdm(events, desc="evaluating", unit="event", leave=False, disable=not progress):
        event_id = int(event.event_id.reshape(-1)[0]) if "event_id" in event else -1
        for name in ("particle_id", "particle_pt", "particle_eta", "weight"):
            if getattr(event, name, None) is None:
                msg = f"event {event_id}: field '{name}' is missing (evaluation needs the truth)"
                raise InputError(msg)
        tracks = chain(event)
        particle_id = event.particle_id.numpy()
        matches = match_particles(
            tracks.candidate,
            particle_id,
            event.particle_pt.numpy(),
            pt_min=pt_min,
            min_hits=min_hits,
            min_candidate_hits=min_candidate_hits,
        )
        if matches.counts.reconstructable == 0:
            msg = (
                f"event {event_id}: field 'particle_id': no reconstructable particle "
                f"(pT > {pt_min} GeV, > {min_hits} hits)"
            )
            raise InputError(msg)
        counts = matches.counts if counts is None else counts + matches.counts
        scores.append(trackml_score(tracks.candidate, particle_id, event.weight.numpy()))
        seconds.append(tracks.seconds)
        _, first = np.unique(particle_id, return_index=True)
        first = first[particle_id[first] != 0]
        tables.append(
            pd.DataFrame(
                {
                    "event_id": event_id,
                    "particle_id": matches.particle_id,
                    "pt": event.particle_pt.numpy()[first],
                    "eta": event.particle_eta.numpy()[first],
                    "num_hits": matches.num_hits,
                    "reconstructable": matches.reconstructable,
                    "matched": matches.matched,
                }
            )
        )
        if tracks.scores is not None:
            all_scores.append(tracks.scores)
            all_truth.append(event.y.numpy())
    if counts is None:
        msg = "no events to evaluate"
        raise InputError(msg)
    edges = None
    if all_scores:
        edges = edge_metrics(np.concatenate(all_scores), np.concatenate(all_truth), cut)
    stages = {stage: float(np.mean([s.get(stage, 0.0) for s in seconds])) for stage in seconds[0]}
    result = ChainResult(counts, float(np.mean(scores)), stages, len(scores), pd.concat(tables), edges)
    log.info(
        "%d events: efficiency %.4f, purity %.4f, TrackML score %.4f",
        result.events,
        result.efficiency,
        result.purity,
        result.trackml_score,
    )
    return result
