"""Evaluating track candidates of hit graphs against truth, event by event; Truth-CC of a graph folder.

:func:`evaluate_event` is what any chain calls per event with its candidates (edge classifier + CC,
Truth-CC, ...); :func:`summarize` adds events up into one row (efficiency, purity, TrackML score, seconds);
:func:`binned_efficiencies` is the efficiency of reconstructable particles against pT and η in the setting's
bins.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.metrics.tracking import (
    BinnedEfficiency,
    ParticleMatches,
    TrackingCounts,
    binned_efficiency,
    match_memberships,
    trackml_score,
)
from hepxai.tracking.components import truth_cc
from hepxai.tracking.graph_files import GraphFiles
from hepxai.tracking.settings import ETA_EDGES, Setting


@dataclass(frozen=True)
class EventResult:
    """One event's candidates against its truth."""

    event_id: int
    matches: ParticleMatches
    particle_pt: np.ndarray  # [P] of matches.particle_id
    particle_eta: np.ndarray  # [P]
    trackml_score: float
    seconds: float  # what making the candidates cost


def evaluate_event(
    data: Data,
    candidate: np.ndarray,
    setting: Setting,
    *,
    seconds: float = float("nan"),
    min_candidate_hits: int = 3,
    source: str | Path = "graph",
    memberships: tuple[np.ndarray, np.ndarray] | None = None,
) -> EventResult:
    """Match the candidates of one event to its particles (the setting's reconstructable definition).

    ``memberships``, (hit, candidate) pairs, are matched instead of ``candidate`` where candidates share
    hits (:func:`~hepxai.metrics.tracking.match_memberships`); the TrackML score, one track per hit, takes
    ``candidate``.

    Raises:
        InputError: the event has no reconstructable particle (its efficiency is undefined).
    """
    particle_pt = data.particle_pt.numpy()
    if memberships is None:
        (member,) = np.nonzero(np.asarray(candidate) >= 0)
        memberships = (member, np.asarray(candidate)[member])
    matches = match_memberships(
        *memberships,
        data.particle_id.numpy(),
        particle_pt,
        pt_min=setting.pt_min,
        min_hits=setting.min_hits,
        min_candidate_hits=min_candidate_hits,
    )
    if matches.counts.reconstructable == 0:
        msg = (
            f"{source}: field 'particle_id' has no reconstructable particle "
            f"(more than {setting.min_hits} hits and pT > {setting.pt_min} GeV)"
        )
        raise InputError(msg)
    particle_id = data.particle_id.numpy()
    first = np.searchsorted(np.sort(particle_id), matches.particle_id)
    by_id = np.argsort(particle_id, kind="stable")[first]
    return EventResult(
        event_id=int(data.event_id[0]),
        matches=matches,
        particle_pt=particle_pt[by_id],
        particle_eta=data.particle_eta.numpy()[by_id],
        trackml_score=trackml_score(candidate, particle_id, data.weight.numpy()),
        seconds=seconds,
    )


def summarize(results: Iterable[EventResult]) -> dict[str, float]:
    """Efficiency and purity of the summed counts, mean TrackML score and seconds per event."""
    results = list(results)
    counts = sum((result.matches.counts for result in results), TrackingCounts(0, 0, 0, 0))
    return {
        "efficiency": counts.efficiency,
        "purity": counts.purity,
        "trackml_score": float(np.mean([result.trackml_score for result in results])),
        "seconds_per_event": float(np.mean([result.seconds for result in results])),
        "events": len(results),
        "reconstructable": counts.reconstructable,
        "matched_reconstructable": counts.matched_reconstructable,
        "candidates": counts.candidates,
        "matched_non_reconstructable": counts.matched_non_reconstructable,
    }


def reconstructable_particles(results: Iterable[EventResult]) -> dict[str, np.ndarray]:
    """``pt``, ``eta`` and ``matched`` of every reconstructable particle of ``results``, for
    :func:`binned_efficiencies`."""
    results = list(results)
    chosen = [result.matches.reconstructable for result in results]
    return {
        "pt": np.concatenate([r.particle_pt[c] for r, c in zip(results, chosen, strict=True)]),
        "eta": np.concatenate([r.particle_eta[c] for r, c in zip(results, chosen, strict=True)]),
        "matched": np.concatenate([r.matches.matched[c] for r, c in zip(results, chosen, strict=True)]),
    }


def binned_efficiencies(
    pt: np.ndarray, eta: np.ndarray, matched: np.ndarray, setting: Setting
) -> dict[str, BinnedEfficiency]:
    """Efficiency of reconstructable particles against ``pt`` (the setting's bins, from its ``pt_min``) and
    ``eta``, with Clopper–Pearson 68% intervals.

    Args:
        pt: ``[P]`` pT (GeV) of each reconstructable particle.
        eta: ``[P]`` its η.
        matched: ``[P]`` bool, some candidate matches it.
        setting: Gives the pT bins (:attr:`~hepxai.tracking.settings.Setting.pt_edges`).
    """
    return {
        "pt": binned_efficiency(pt, matched, np.asarray(setting.pt_edges)),
        "eta": binned_efficiency(eta, matched, np.asarray(ETA_EDGES)),
    }


def efficiency_table(binned: Mapping[str, BinnedEfficiency]) -> pd.DataFrame:
    """One row per bin of each quantity: ``quantity``, ``low``, ``high``, ``total``, ``passed``,
    ``efficiency``, ``lower``, ``upper``."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "quantity": quantity,
                    "low": result.edges[:-1],
                    "high": result.edges[1:],
                    "total": result.total,
                    "passed": result.passed,
                    "efficiency": result.efficiency,
                    "lower": result.lower,
                    "upper": result.upper,
                }
            )
            for quantity, result in binned.items()
        ],
        ignore_index=True,
    )


def evaluate_truth_cc(
    folder: str | Path, split: str, setting: Setting, *, progress: bool = True
) -> list[EventResult]:
    """Truth-CC (components of the true edges of each graph) on every graph of ``split`` in ``folder``."""
    events = GraphFiles.of(folder, split)
    results = []
    for path, data in tqdm(
        zip(events.paths, events, strict=True),
        total=len(events),
        desc=f"truth-cc {split}",
        unit="event",
        disable=not progress,
    ):
        start = time.perf_counter()
        candidate = truth_cc(data.num_nodes, data.edge_index, data.y)
        seconds = time.perf_counter() - start
        results.append(evaluate_event(data, candidate, setting, seconds=seconds, source=path))
    return results
