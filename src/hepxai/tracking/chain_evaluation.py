"""Evaluating a whole tracking chain over test events: efficiency, purity, TrackML score, time per stage.

A chain is any function from an event's graph to its track candidates (:class:`EventTracks`): the edge
classifier with a cut and connected components, or Truth-CC. Each event is matched with
:func:`hepxai.tracking.evaluation.evaluate_event`; counts add over events, so efficiency and purity are
ratios of sums (as the slides compute them), and the TrackML score is the mean over events, as in the
challenge. Every particle is kept with its pT, η and whether it was matched, for the efficiency against pT
and η; scored chains also get the edge AUC, efficiency and purity at their cut.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.metrics.tracking import TrackingCounts
from hepxai.tracking.edge_training import EdgeMetrics, edge_metrics
from hepxai.tracking.evaluation import evaluate_event
from hepxai.tracking.reconstruction import EventTracks
from hepxai.tracking.settings import Setting

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
    supernodes: dict[int, int] = field(default_factory=dict)  # event_id -> supernodes (hierarchical chains)

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
    setting: Setting,
    *,
    min_candidate_hits: int = 3,
    cut: float = 0.5,
    progress: bool = True,
) -> ChainResult:
    """Run ``chain`` on every event and score its candidates against the truth.

    Args:
        events: Graphs with truth (``particle_id``, ``particle_pt``, ``particle_eta``, ``weight``, ``y``).
        chain: Event → track candidates.
        setting: Says which particles are reconstructable (more than ``min_hits`` hits, pT above ``pt_min``).
        min_candidate_hits: Smaller candidates are not counted as tracks.
        cut: The score cut the chain used, for the edge efficiency and purity.
        progress: Show a progress bar.

    Raises:
        InputError: no events, or an event without a reconstructable particle.
    """
    counts = TrackingCounts(0, 0, 0, 0)
    scores, seconds, tables = [], [], []
    all_scores, all_truth = [], []
    supernodes = {}
    for event in tqdm(events, desc="evaluating", unit="event", leave=False, disable=not progress):
        tracks = chain(event)
        result = evaluate_event(
            event,
            tracks.candidate,
            setting,
            min_candidate_hits=min_candidate_hits,
            source=f"event {int(event.event_id[0])}",
            memberships=tracks.memberships,
        )
        matches = result.matches
        counts = counts + matches.counts
        scores.append(result.trackml_score)
        seconds.append(tracks.seconds)
        tables.append(
            pd.DataFrame(
                {
                    "event_id": result.event_id,
                    "particle_id": matches.particle_id,
                    "pt": result.particle_pt,
                    "eta": result.particle_eta,
                    "num_hits": matches.num_hits,
                    "reconstructable": matches.reconstructable,
                    "matched": matches.matched,
                }
            )
        )
        if tracks.supernodes is not None:
            supernodes[result.event_id] = tracks.supernodes
        if tracks.scores is not None:
            all_scores.append(tracks.scores)
            all_truth.append(event.y.numpy())
    if not scores:
        msg = "no events to evaluate"
        raise InputError(msg)
    edges = None
    if all_scores:
        edges = edge_metrics(np.concatenate(all_scores), np.concatenate(all_truth), cut)
    stages = {stage: float(np.mean([s.get(stage, 0.0) for s in seconds])) for stage in seconds[0]}
    result = ChainResult(
        counts, float(np.mean(scores)), stages, len(scores), pd.concat(tables), edges, supernodes
    )
    log.info(
        "%d events: efficiency %.4f, purity %.4f, TrackML score %.4f",
        result.events,
        result.efficiency,
        result.purity,
        result.trackml_score,
    )
    return result
