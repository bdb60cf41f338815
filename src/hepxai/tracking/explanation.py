"""One decision's explanation as tables: the relevance of every hit and every edge it reaches.

Hits: ``hit_id``, the relevance of each hit feature (``relevance_r``, ``relevance_phi``, ``relevance_z``)
and their sum ``relevance``, for every hit that gets relevance. Edges: ``edge``, ``source_hit_id``,
``target_hit_id``, ``score``, ``truth`` and the relevance of each pair-geometry feature and their sum, for
every edge that gets relevance and the explained one.

An assignment of the bipartite HGNN (:mod:`hepxai.tracking.assignment_explanation`) gives the same two
tables (hits with the ``supernode`` whose component holds them, −1 for none; edges without a score: the
model scores assignments, not graph edges) and a third, one row per supernode: ``supernode``, ``members``
(hits of its component), ``matched_particle_id`` (0: none), ``hit_score`` (the explained hit's assignment
score to it; empty where the hit is not assigned to it), ``explained`` and ``relevance`` (gradient × input on
its initial embedding, summed over the channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch_geometric.data import Data

from hepxai.explain.edge_relevance import EdgeRelevance
from hepxai.tracking.assignment_explanation import AssignmentExplanation
from hepxai.tracking.event_graph import EDGE_FEATURES, HIT_FEATURES


@dataclass(frozen=True)
class ExplanationTables:
    """The hits, edges (and supernodes) an explanation reaches (see the module doc)."""

    hits: pd.DataFrame
    edges: pd.DataFrame
    supernodes: pd.DataFrame | None = None


def explanation_tables(event: Data, scores: np.ndarray, relevance: EdgeRelevance) -> ExplanationTables:
    """The tables of ``relevance``, an explanation of one edge of ``event`` whose edges score ``scores``."""
    return _tables(event, scores, relevance, relevance.edge)


def assignment_tables(event: Data, explanation: AssignmentExplanation) -> ExplanationTables:
    """The tables of an explanation of one of the bipartite HGNN's assignment edges in ``event``."""
    tables = _tables(event, None, explanation.relevance, None)
    hits = tables.hits
    hits.insert(2, "supernode", explanation.label[_reached(explanation.relevance)])
    supernode = np.arange(explanation.num_supernodes)
    hit_score = np.full(len(supernode), np.nan)
    mine = explanation.assignment_index[0] == explanation.hit
    hit_score[explanation.assignment_index[1, mine]] = explanation.scores[mine]
    supernodes = pd.DataFrame(
        {
            "supernode": supernode,
            "members": np.bincount(explanation.label[explanation.label >= 0], minlength=len(supernode)),
            "matched_particle_id": explanation.matched,
            "hit_score": hit_score,
            "explained": supernode == explanation.supernode,
            "relevance": explanation.supernode_relevance,
        }
    )
    return ExplanationTables(hits, tables.edges, supernodes)


def _tables(
    event: Data, scores: np.ndarray | None, relevance: EdgeRelevance, explained_edge: int | None
) -> ExplanationTables:
    hit_id = event.hit_id.numpy()
    reached = _reached(relevance)
    hits = pd.DataFrame({"hit_id": hit_id[reached], "particle_id": event.particle_id.numpy()[reached]})
    for column, name in enumerate(HIT_FEATURES[: relevance.hit_features.shape[1]]):
        hits[f"relevance_{name}"] = relevance.hit_features[reached, column]
    hits["relevance"] = relevance.hit[reached]
    edge_index = event.edge_index.numpy()
    columns = {
        "edge": np.arange(edge_index.shape[1]),
        "source_hit_id": hit_id[edge_index[0]],
        "target_hit_id": hit_id[edge_index[1]],
        **({} if scores is None else {"score": scores}),
        "truth": event.y.numpy(),
    }
    edges = pd.DataFrame(columns)
    if relevance.edge_attr is not None:
        for column, name in enumerate(EDGE_FEATURES[: relevance.edge_attr.shape[1]]):
            edges[f"relevance_{name}"] = relevance.edge_attr[:, column]
        edges["relevance"] = relevance.edge_geometry
        edges = edges[(edges["relevance"] != 0) | (edges["edge"] == explained_edge)]
    return ExplanationTables(hits, edges)


def _reached(relevance: EdgeRelevance) -> np.ndarray:
    """The rows of the hits that get relevance."""
    return np.flatnonzero(relevance.hit != 0)
