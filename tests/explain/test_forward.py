"""Removing tracks: dropping them from the graph, and the soft mask that equals it for 0/1 masks."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from hepxai.explain.forward import drop_tracks, masked_batch, target_logit
from hepxai.models import InteractionNetwork

from .toys import make_jets, tiny_jets, tiny_model


@pytest.fixture
def jets() -> Batch:
    return tiny_jets()


@pytest.fixture
def model() -> InteractionNetwork:
    return tiny_model()


def test_drop_tracks_equals_reading_the_smaller_jets(model: InteractionNetwork) -> None:
    jets = make_jets([4, 3, 5])
    keep = torch.tensor([1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0], dtype=torch.bool)
    smaller = drop_tracks(jets.to_batch(), keep)
    # The same jets built from scratch with only the kept tracks: 3, 1 and 3 tracks.
    expected = jets.__class__(
        features=jets.features[keep.numpy()],
        num_tracks=torch.tensor([3, 1, 3]).numpy(),
        label=jets.label,
        feature_names=jets.feature_names,
    ).to_batch()
    assert smaller.num_graphs == 3
    assert smaller.edge_index.shape[1] == 3 * 2 + 0 + 3 * 2
    with torch.no_grad():
        torch.testing.assert_close(model(smaller), model(expected))


def test_drop_tracks_keeps_empty_jets(model: InteractionNetwork) -> None:
    batch = make_jets([2, 3]).to_batch()
    smaller = drop_tracks(batch, torch.tensor([False, False, True, True, True]))
    assert smaller.num_graphs == 2
    with torch.no_grad():
        assert model(smaller).shape == (2, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_mask_equals_dropping(seed: int, model: InteractionNetwork, jets: Batch) -> None:
    generator = torch.Generator().manual_seed(seed)
    keep = torch.rand(jets.x.shape[0], generator=generator) > 0.4
    keep[jets.ptr[:-1]] = True  # at least one track per jet
    with torch.no_grad():
        torch.testing.assert_close(model(masked_batch(jets, keep.double())), model(drop_tracks(jets, keep)))
        torch.testing.assert_close(
            model(masked_batch(jets, torch.ones(jets.x.shape[0], dtype=torch.float64))), model(jets)
        )


def test_mask_is_differentiable(model: InteractionNetwork, jets: Batch) -> None:
    mask = torch.full((jets.x.shape[0],), 0.5, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(target_logit(model, jets, model(masked_batch(jets, mask)), "H").sum(), mask)
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


def test_uniformly_small_masks_cancel_in_every_mean(model: InteractionNetwork, jets: Batch) -> None:
    # Every mean is normalised, so masks of 1e-5 everywhere give the unmasked model (float32: an edge weight
    # mask x mask would be 1e-10 and its gradients overflow; each mean weighs one mask only).
    model = model.float()
    jets.x = jets.x.float()
    mask = torch.full((jets.x.shape[0],), 1e-5, requires_grad=True)
    logits = model(masked_batch(jets, mask))
    with torch.no_grad():
        torch.testing.assert_close(logits, model(jets))
    (grad,) = torch.autograd.grad(target_logit(model, jets, logits, "H").sum(), mask)
    assert torch.isfinite(grad).all()
