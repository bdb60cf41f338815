"""The bipartite HGNN's assignment explanation: gradient × input against finite differences of the model's
own forward (clustering unchanged), the default choice, the tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepxai.errors import InputError
from hepxai.models import build_model
from hepxai.tracking.assignment_explanation import SUPERNODE_MODULE, explain_assignment
from hepxai.tracking.explanation import assignment_tables
from hepxai.tracking.hgnn_training import HierarchicalModelConfig
from hepxai.tracking.settings import SETTINGS

from .toys import toy_event

SETTING = SETTINGS["pt1_mu200"]  # reconstructable: more than 5 hits, pT above 1 GeV
STEP = 1e-6


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = HierarchicalModelConfig.for_kind(
        "hgnn_bipartite", latent=16, iterations=2, hierarchical_iterations=2, log_odds=1.0
    )
    assert config.detach_pooling  # the bipartite default: lifted for the explanation
    return build_model("hgnn_bipartite", **config.arguments(3, 5)).double().eval()


@pytest.fixture(scope="module")
def event():
    event = toy_event(0, num_particles=12)
    event.x, event.edge_attr = event.x.double(), event.edge_attr.double()
    return event


def _logit(model, event, assignment: int, label: torch.Tensor, **inputs: torch.Tensor) -> float:
    """The model's assignment logit on changed inputs, with the check that the clustering did not move."""
    changed = event.clone()
    for name, value in inputs.items():
        setattr(changed, name, value)
    with torch.no_grad():
        output = model.outputs(changed)
    assert torch.equal(output.hierarchy.label, label)
    return float(output.assignment_logits[assignment])


def test_gradient_x_input_is_the_local_derivative(model, event) -> None:
    explanation = explain_assignment(model, event, SETTING)
    assert model.detach_pooling  # restored
    with torch.no_grad():
        output = model.outputs(event)
    label, chosen = output.hierarchy.label, explanation.assignment
    assert explanation.num_supernodes > 1
    assert explanation.relevance.logit == pytest.approx(float(output.assignment_logits[chosen]), abs=1e-12)
    relevance = explanation.relevance
    neighbour = int(event.edge_index[1, event.edge_index[0] == explanation.hit][0])
    for hit in (explanation.hit, neighbour, 0):
        for feature in range(3):
            plus, minus = event.x.clone(), event.x.clone()
            plus[hit, feature] += STEP
            minus[hit, feature] -= STEP
            slope = (
                _logit(model, event, chosen, label, x=plus) - _logit(model, event, chosen, label, x=minus)
            ) / (2 * STEP)
            expected = slope * float(event.x[hit, feature])
            assert relevance.hit_features[hit, feature] == pytest.approx(expected, rel=1e-5, abs=1e-9)
    for edge in (0, 7):
        plus, minus = event.edge_attr.clone(), event.edge_attr.clone()
        plus[edge, 1] += STEP
        minus[edge, 1] -= STEP
        slope = (
            _logit(model, event, chosen, label, edge_attr=plus)
            - _logit(model, event, chosen, label, edge_attr=minus)
        ) / (2 * STEP)
        assert relevance.edge_attr[edge, 1] == pytest.approx(
            slope * float(event.edge_attr[edge, 1]), rel=1e-5, abs=1e-9
        )


def test_supernode_relevance_is_the_derivative_along_its_embedding(model, event) -> None:
    explanation = explain_assignment(model, event, SETTING)
    supernode = explanation.supernode

    def scaled(factor: float) -> float:
        # d/dt logit(s + t · s_α) at t = 0 is Σ_channels s_α ⊙ ∂logit/∂s_α: the supernode's relevance
        def hook(module, inputs, output):
            changed = output.clone()
            changed[supernode] *= 1 + factor
            return changed

        handle = model.get_submodule(SUPERNODE_MODULE).register_forward_hook(hook)
        try:
            with torch.no_grad():
                return float(model.outputs(event).assignment_logits[explanation.assignment])
        finally:
            handle.remove()

    slope = (scaled(STEP) - scaled(-STEP)) / (2 * STEP)
    assert explanation.supernode_relevance[supernode] == pytest.approx(slope, rel=1e-5, abs=1e-9)


def test_the_default_is_the_best_assignment_of_the_longest_particles_middle_hit(model, event) -> None:
    explanation = explain_assignment(model, event, SETTING)
    # every toy particle has 7 hits: the lowest id, 1, and its hit of order 3
    assert int(event.particle_id[explanation.hit]) == 1
    assert int(event.hit_order[explanation.hit]) == 3
    mine = np.flatnonzero(explanation.assignment_index[0] == explanation.hit)
    assert explanation.assignment == mine[np.argmax(explanation.scores[mine])]
    by_hit = explain_assignment(model, event, SETTING, hit_id=int(event.hit_id[explanation.hit]))
    assert by_hit.assignment == explanation.assignment
    other = explain_assignment(model, event, SETTING, assignment=3)
    assert (other.assignment, other.hit) == (3, int(explanation.assignment_index[0, 3]))


def test_requests_that_are_not_there_are_one_line(model, event) -> None:
    with pytest.raises(InputError, match="toy event: no assignment 100000"):
        explain_assignment(model, event, SETTING, assignment=100_000, source="toy event")
    with pytest.raises(InputError, match="field 'hit_id': no hit 9999"):
        explain_assignment(model, event, SETTING, hit_id=9999)


def test_tables(model, event) -> None:
    explanation = explain_assignment(model, event, SETTING)
    tables = assignment_tables(event, explanation)
    supernodes = tables.supernodes
    assert supernodes["members"].sum() == (explanation.label >= 0).sum()
    assert supernodes.loc[supernodes["explained"], "supernode"].tolist() == [explanation.supernode]
    # the explained hit's c' assignments have scores, its best is the explained one
    scored = supernodes.dropna(subset=["hit_score"])
    assert len(scored) == min(model.pool.assignments, explanation.num_supernodes)
    assert scored["hit_score"].max() == pytest.approx(explanation.score)
    np.testing.assert_allclose(supernodes["relevance"], explanation.relevance.intermediate.sum(axis=1))
    hits = tables.hits
    row = {hit: position for position, hit in enumerate(event.hit_id.tolist())}
    assert hits["supernode"].tolist() == [explanation.label[row[hit]] for hit in hits["hit_id"]]
    assert "score" not in tables.edges  # the model scores assignments, not graph edges
