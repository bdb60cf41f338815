"""Supernodes against particles: how many clusters a hierarchical model's pooling makes per event.

The HGNN slides say the model "learns about the same number of clusters as particles". GMPool's
supernodes (the connected components of the edges above its cut, with more than ``N_min`` hits) are counted
per event by the track builder's own forward pass (:func:`hepxai.tracking.clustering.hierarchical_tracks`)
and set beside the event's particles with hits (noise excluded) and its reconstructable particles (the
setting's definition), as :func:`hepxai.tracking.chain_evaluation.evaluate_chain` lists them. Ratios are
ratios of sums over the events, as efficiency and purity are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = ("event_id", "supernodes", "particles", "reconstructable")


@dataclass(frozen=True)
class SupernodeSummary:
    """Medians per event and ratios of sums over the events of :func:`supernode_table`."""

    events: int
    supernodes: float  # median per event
    particles: float  # median per event, particles with hits
    reconstructable: float  # median per event
    per_particle: float  # Σ supernodes / Σ particles
    per_reconstructable: float  # Σ supernodes / Σ reconstructable particles
    low: int  # fewest supernodes in an event
    high: int  # most supernodes in an event


def supernode_table(supernodes: Mapping[int, int], particles: pd.DataFrame) -> pd.DataFrame:
    """Per event: ``event_id``, ``supernodes``, ``particles`` (with hits) and ``reconstructable``.

    Args:
        supernodes: Event id → supernodes the pooling made.
        particles: One row per particle with hits: ``event_id`` and ``reconstructable`` (bool), as
            :class:`~hepxai.tracking.chain_evaluation.ChainResult` keeps them.
    """
    counts = particles.groupby("event_id")["reconstructable"].agg(["size", "sum"])
    event_id = np.array(sorted(supernodes), np.int64)
    counts = counts.reindex(event_id, fill_value=0)
    return pd.DataFrame(
        {
            "event_id": event_id,
            "supernodes": np.array([supernodes[event] for event in event_id], np.int64),
            "particles": counts["size"].to_numpy(np.int64),
            "reconstructable": counts["sum"].to_numpy(np.int64),
        },
        columns=list(COLUMNS),
    )


def summarize_supernodes(table: pd.DataFrame) -> SupernodeSummary:
    """Medians and ratios of a :func:`supernode_table` of at least one event."""
    total = table[["supernodes", "particles", "reconstructable"]].sum()
    return SupernodeSummary(
        events=len(table),
        supernodes=float(table["supernodes"].median()),
        particles=float(table["particles"].median()),
        reconstructable=float(table["reconstructable"].median()),
        per_particle=_ratio(total["supernodes"], total["particles"]),
        per_reconstructable=_ratio(total["supernodes"], total["reconstructable"]),
        low=int(table["supernodes"].min()),
        high=int(table["supernodes"].max()),
    )


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")
