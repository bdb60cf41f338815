"""The model-agnostic LRP reproduces the outputs of the HIN-specific implementation it replaced.

``tests/fixtures/lrp_previous.npz`` holds a random HIN, two batches (fully connected and sparse) and the
relevance that the previous, HIN-specific LRP gave for five settings, in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from hepxai.explain import LRP, Epsilon, Gamma, ZPlus
from hepxai.models import InteractionNetwork

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lrp_previous.npz"
CASES = {
    "std_H": ({}, "H"),
    "raw_HQCD": ({"input": "raw"}, "H-QCD"),
    "mean_QCD": ({"aggregate": "mean"}, "QCD"),
    "gamma_H": ({"rules": {"default": Epsilon(1e-6), "edge_mlp": Gamma(0.25), "node_mlp_2.0": ZPlus()}}, "H"),
}
FIELDS = ("node", "edge", "edge_significance", "absorbed", "logit")


@pytest.fixture(scope="module")
def previous() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as archive:
        return {key: archive[key] for key in archive.files}


def _model(previous: dict[str, np.ndarray]) -> InteractionNetwork:
    model = InteractionNetwork(num_features=5, hidden=12).double()
    state = {
        key.removeprefix("state/"): torch.from_numpy(v)
        for key, v in previous.items()
        if key.startswith("state/")
    }
    model.load_state_dict(state)
    return model.eval()


def _batch(previous: dict[str, np.ndarray], name: str) -> Batch:
    graph = torch.from_numpy(previous[f"{name}/batch"])
    counts = torch.bincount(graph)
    return Batch(
        x=torch.from_numpy(previous[f"{name}/x"]),
        edge_index=torch.from_numpy(previous[f"{name}/edge_index"]),
        batch=graph,
        ptr=torch.cat([counts.new_zeros(1), counts.cumsum(0)]),
    )


@pytest.mark.parametrize("batch_name", ["full", "sparse"])
@pytest.mark.parametrize("case", list(CASES))
def test_equals_the_previous_implementation(previous, batch_name, case):
    options, target = CASES[case]
    explanation = LRP(_model(previous), **options, fast=False).explain(
        _batch(previous, batch_name), target=target
    )
    for field in FIELDS:
        expected = torch.from_numpy(previous[f"{batch_name}/{case}/{field}"])
        torch.testing.assert_close(getattr(explanation, field), expected, rtol=1e-10, atol=1e-12, msg=field)


def test_raw_input_with_gamma_on_its_consumers_differs_but_conserves(previous):
    # The previous code folded the input BatchNorm into its consumers' weights; γ then saw the raw features.
    # Now γ sees the standardised features and relevance passes the normalisation with its gradient (exact
    # for ε-rules, tested above). Documented in docs/lrp.md.
    batch = _batch(previous, "full")
    rules = {"default": Epsilon(0.01), "node_mlp_1": Gamma(0.1)}
    explanation = LRP(_model(previous), input="raw", rules=rules).explain(batch, target="H")
    per_jet = torch.zeros(batch.num_graphs, dtype=torch.float64).index_add_(
        0, batch.batch, explanation.node.sum(1)
    )
    torch.testing.assert_close(per_jet + explanation.absorbed, explanation.logit, rtol=1e-10, atol=1e-12)
    previous_node = torch.from_numpy(previous["full/raw_gamma_H/node"])
    assert not torch.allclose(explanation.node, previous_node, rtol=1e-6, atol=1e-9)
