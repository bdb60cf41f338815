"""The sanity proof: a HIN trained on the synthetic jets, explained by LRP, points at feature 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

from hepxai.data import load_schema, read_jets
from hepxai.data.sanity import write_sanity
from hepxai.explain import LRP
from hepxai.explain.sanity import sanity_result
from hepxai.models import InteractionNetwork

TRAIN_JETS, HELD_OUT_JETS = 8_000, 500


def train_briefly(jets, *, hidden: int = 32, epochs: int = 10, batch_size: int = 100, seed: int = 0):
    """A minimal seeded training loop (Adam, cross-entropy); the project's training lives elsewhere."""
    torch.manual_seed(seed)
    order = np.random.default_rng(seed)
    model = InteractionNetwork(num_features=48, hidden=hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        permutation = order.permutation(len(jets))
        for start in range(0, len(jets), batch_size):
            batch = jets.select(permutation[start : start + batch_size]).to_batch()
            loss = functional.cross_entropy(model(batch), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = write_sanity(
        tmp_path_factory.mktemp("sanity") / "sanity.root", TRAIN_JETS + HELD_OUT_JETS, seed=1, progress=False
    )
    jets = read_jets(path, load_schema("sanity"), progress=False)
    model = train_briefly(jets.select(np.arange(TRAIN_JETS)))
    held_out = jets.select(np.arange(TRAIN_JETS, TRAIN_JETS + HELD_OUT_JETS)).to_batch()
    with torch.no_grad():
        accuracy = float((model(held_out).argmax(dim=1) == held_out.y).double().mean())
    return model, held_out, accuracy


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_lrp_finds_feature_3(trained, input_space):
    model, held_out, accuracy = trained
    assert accuracy > 0.9  # the model has learnt the label, so there is something to explain
    result = sanity_result(LRP(model, input=input_space).explain(held_out, target="H"))
    assert result.dominant_fraction >= 0.95, result.format()
    assert result.dominance >= 10, result.format()
