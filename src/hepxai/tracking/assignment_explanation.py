"""Why the bipartite HGNN assigns one hit to one supernode: gradient × input on hits, edges and supernodes.

The bipartite HGNN's decision is one logit per assignment edge (hit ``i``, supernode ``α``). Its pooling,
GMPool, is discrete: a mixture cut on the edge scores, connected components, each hit's ``c`` nearest
supernodes. LRP's rules (docs/lrp.md) cover linear maps, activations and sums, not a threshold and a
component search, so the decision is explained by **gradient × input**, through the model's own forward:

- **exact** (the model's eval-mode forward, the same as ``evaluate`` runs): the explained logit and score,
  the supernodes, which hits each one's component holds, the assignment edges and their scores, and the
  particle each supernode is matched to (the training's matching, :func:`match_supernodes`);
- **gradient-based** (first order, not conservative: the relevances need not add up to the logit):
  ``x ⊙ ∂a/∂x`` on every hit feature, ``edge_attr ⊙ ∂a/∂edge_attr`` on every edge's pair geometry, and
  ``s_α ⊙ ∂a/∂s_α`` on every supernode's initial embedding ``s_α`` (the supernode encoder's output, before
  the hierarchical steps), summed over its channels: the relevance that reaches each supernode.

The derivative is taken with the clustering held where it is (the cut, the components, who is assigned to
whom: piecewise constant, their gradient is 0). The continuous parts of the pooling — the supernodes' mean
embeddings, the assignment weights, the similarity the head reads — are differentiated: the bipartite
model pools a detached embedding in training (``detach_pooling``, which changes only gradients), and that
detachment is lifted for the explanation, so the gradient is the model's exact local derivative (tested
against finite differences).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.explain.edge_relevance import EdgeRelevance, explain_edge
from hepxai.models.hgnn import HGNNBipartite
from hepxai.tracking.hgnn_losses import match_supernodes
from hepxai.tracking.selection import choose_assignment
from hepxai.tracking.settings import Setting

SUPERNODE_MODULE = "supernode_encoder"
"""The submodule whose output rows are the supernodes' initial embeddings."""


@dataclass(frozen=True)
class AssignmentExplanation:
    """One assignment edge's explanation and the hierarchy of the forward pass it explains."""

    assignment: int  # the explained column of assignment_index
    hit: int  # its hit (row of the event)
    supernode: int  # its supernode
    score: float  # sigmoid of the explained logit
    relevance: EdgeRelevance  # hits, edges; intermediate: [K, latent] on the supernodes' initial embeddings
    label: np.ndarray  # [H] int64 the supernode whose component holds each hit, −1 for none
    assignment_index: np.ndarray  # [2, A] (hit, supernode)
    scores: np.ndarray  # [A] every assignment edge's score
    matched: np.ndarray  # [K] int64 the particle matched to each supernode, 0 for none

    @property
    def num_supernodes(self) -> int:
        return len(self.matched)

    @property
    def supernode_relevance(self) -> np.ndarray:
        """``[K]`` gradient × input on each supernode's initial embedding, summed over its channels."""
        intermediate = self.relevance.intermediate
        return np.zeros(self.num_supernodes) if intermediate is None else intermediate.sum(axis=1)

    @property
    def members(self) -> np.ndarray:
        """``[H]`` bool: the hits of the explained supernode's component."""
        return self.label == self.supernode

    def truth(self, particle_id: np.ndarray) -> bool:
        """The explained hit's particle is the one matched to its supernode (the training's truth)."""
        owner = int(self.matched[self.supernode])
        return owner != 0 and owner == int(particle_id[self.hit])


def explain_assignment(
    model: HGNNBipartite,
    event: Data,
    setting: Setting,
    *,
    assignment: int | None = None,
    hit_id: int | None = None,
    source: str | Path = "event",
) -> AssignmentExplanation:
    """Explain one assignment logit of ``event`` (default: :func:`choose_assignment`'s).

    Args:
        model: A bipartite HGNN.
        event: One graph with ``x``, ``edge_index``, ``edge_attr`` and the truth fields.
        setting: Says which particles are reconstructable (for the default choice).
        assignment: A column of the model's ``assignment_index`` for this event.
        hit_id: Explain this hit's highest-scoring assignment instead.
        source: Names the event in messages.

    Raises:
        InputError: no supernodes, or an assignment or hit that is not there.
    """
    model.eval()
    with torch.no_grad():
        output = model.outputs(_in_dtype(model, event))
    hierarchy = output.hierarchy
    assignment_index = hierarchy.assignment_index.numpy()
    scores = torch.sigmoid(output.assignment_logits).double().numpy()
    chosen = choose_assignment(
        event, setting, assignment_index, scores, assignment=assignment, hit_id=hit_id, source=source
    )
    with _pooling_differentiated(model):
        relevance = explain_edge(
            model, event, chosen, method="gradient_x_input", intermediate=SUPERNODE_MODULE
        )
    matched = match_supernodes(
        event.particle_id, hierarchy.assignment_index, hierarchy.label, hierarchy.num_supernodes
    )
    return AssignmentExplanation(
        chosen,
        int(assignment_index[0, chosen]),
        int(assignment_index[1, chosen]),
        float(scores[chosen]),
        relevance,
        hierarchy.label.numpy(),
        assignment_index,
        scores,
        matched.numpy(),
    )


@contextmanager
def _pooling_differentiated(model: HGNNBipartite) -> Iterator[None]:
    """The model pools its embedding undetached for the block: the same forward, with the gradient
    through the supernode means, the assignment weights and the similarity."""
    detached = model.detach_pooling
    model.detach_pooling = False
    try:
        yield
    finally:
        model.detach_pooling = detached


def _in_dtype(model: HGNNBipartite, event: Data) -> Data:
    parameter = next(model.parameters())
    inputs = event.clone()
    inputs.x = event.x.to(parameter.dtype)
    if getattr(event, "edge_attr", None) is not None:
        inputs.edge_attr = event.edge_attr.to(parameter.dtype)
    return inputs
