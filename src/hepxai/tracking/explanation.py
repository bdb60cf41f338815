"""One edge's explanation as tables: the relevance of every hit and every edge it reaches.

Hits: ``hit_id``, the relevance of each hit feature (``relevance_r``, ``relevance_phi``, ``relevance_z``)
and their sum ``relevance``, for every hit that gets relevance. Edges: ``edge``, ``source_hit_id``,
``target_hit_id``, ``score``, ``truth`` and the relevance of each pair-geometry feature and their sum, for
every edge that gets relevance and the explained one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch_geometric.data import Data

from hepxai.explain.edge_relevance import EdgeRelevance
from hepxai.tracking.event_graph import EDGE_FEATURES, HIT_FEATURES


@dataclass(frozen=True)
class ExplanationTables:
    """The hits and edges an edge's explanation reaches (see the module doc)."""

    hits: pd.DataFrame
    edges: pd.DataFrame


def explanation_tables(event: Data, scores: np.ndarray, relevance: EdgeRelevance) -> ExplanationTables:
    """The tables of ``relevance``, an explanation of one edge of ``event`` whose edges score ``scores``."""
    hit_id = event.hit_id.numpy()
    reached = np.flatnonzero(relevance.hit != 0)
    hits = pd.DataFrame({"hit_id": hit_id[reached], "particle_id": event.particle_id.numpy()[reached]})
    for column, name in enumerate(HIT_FEATURES[: relevance.hit_features.shape[1]]):
        hits[f"relevance_{name}"] = relevance.hit_features[reached, column]
    hits["relevance"] = relevance.hit[reached]
    edge_index = event.edge_index.numpy()
    edges = pd.DataFrame(
        {
            "edge": np.arange(edge_index.shape[1]),
            "source_hit_id": hit_id[edge_index[0]],
            "target_hit_id": hit_id[edge_index[1]],
            "score": scores,
            "truth": event.y.numpy(),
        }
    )
    if relevance.edge_attr is not None:
        for column, name in enumerate(EDGE_FEATURES[: relevance.edge_attr.shape[1]]):
            edges[f"relevance_{name}"] = relevance.edge_attr[:, column]
        edges["relevance"] = relevance.edge_geometry
        edges = edges[(edges["relevance"] != 0) | (edges["edge"] == relevance.edge)]
    return ExplanationTables(hits, edges)
