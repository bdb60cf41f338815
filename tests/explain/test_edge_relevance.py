"""Explaining one edge of the edge classifier: LRP conserves its logit; relevance stays within reach."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.explain.edge_relevance import explain_edge
from hepxai.models import build_model

from ..models.test_edge_classifier import as_double, random_model
from ..tracking.toys import toy_event


@pytest.mark.parametrize("edge", [0, 11, 40])
def test_lrp_relevance_of_one_edge_conserves_its_logit(edge):
    model, event = random_model(4), as_double(toy_event(4))
    explanation = explain_edge(model, event, edge, epsilon=1e-9)
    with torch.no_grad():
        logit = model(event)[edge, 0].item()
    assert explanation.logit == pytest.approx(logit, rel=1e-12)
    assert explanation.total + explanation.absorbed == pytest.approx(logit, rel=1e-9, abs=1e-12)
    assert explanation.hit_features.shape == (event.num_nodes, 3)
    assert explanation.edge_attr.shape == (event.edge_index.shape[1], 5)
    assert np.abs(explanation.hit).max() > 0


def test_relevance_reaches_only_hits_within_the_message_passing_range():
    # Two copies of an event side by side: nothing connects them, so the second copy gets no relevance.
    event = as_double(toy_event(5))
    num_hits, num_edges = event.num_nodes, event.edge_index.shape[1]
    doubled = Data(
        x=torch.cat([event.x, event.x]),
        edge_index=torch.cat([event.edge_index, event.edge_index + num_hits], dim=1),
        edge_attr=torch.cat([event.edge_attr, event.edge_attr]),
    )
    model = random_model(5)
    for method in ("lrp", "gradient_x_input"):
        explanation = explain_edge(model, doubled, 3, method=method)
        assert np.abs(explanation.hit[:num_hits]).sum() > 0
        np.testing.assert_array_equal(explanation.hit[num_hits:], 0.0)
        np.testing.assert_array_equal(explanation.edge_geometry[num_edges:], 0.0)


def test_gradient_x_input_is_input_times_gradient():
    model, event = random_model(6), as_double(toy_event(6))
    explanation = explain_edge(model, event, 2, method="gradient_x_input")
    x = event.x.clone().requires_grad_(True)
    logit = model(Data(x=x, edge_index=event.edge_index, edge_attr=event.edge_attr))[2, 0]
    (grad,) = torch.autograd.grad(logit, x)
    np.testing.assert_allclose(explanation.hit_features, (x * grad).detach().numpy(), rtol=1e-12)
    assert np.isnan(explanation.absorbed)


def test_bad_requests_are_refused():
    model, event = random_model(7), as_double(toy_event(7))
    with pytest.raises(ValueError, match="not in the graph"):
        explain_edge(model, event, event.edge_index.shape[1])
    with pytest.raises(ValueError, match="method must be"):
        explain_edge(model, event, 0, method="shap")
    with pytest.raises(ValueError, match="not edges"):
        explain_edge(build_model("dgcnn", edge_features=0), event, 0)
    with pytest.raises(ValueError, match="not an output row"):
        explain_edge(model, event, event.edge_index.shape[1], method="gradient_x_input")
    with pytest.raises(ValueError, match="intermediate relevance is gradient"):
        explain_edge(model, event, 0, intermediate="anything")
