"""The fast dropout: the keep probability, the scaling, the seed, and nn.Dropout's behaviour elsewhere."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hepxai.models.dropout import Dropout, keep_mask


def test_keep_probability_and_expectation() -> None:
    torch.manual_seed(0)
    mask = keep_mask((1000, 1000), 0.8)
    # One million Bernoulli(0.8) draws: standard deviation of the share 0.0004.
    assert abs(mask.float().mean().item() - 0.8) < 0.002
    dropout = Dropout(0.2).train()
    out = dropout(torch.ones(1000, 1000))
    assert set(out.unique().tolist()) == {0.0, 1.25}
    assert abs(out.mean().item() - 1.0) < 0.0025


def test_masks_are_not_correlated_across_neighbouring_elements() -> None:
    """The four 16-bit values of one 64-bit draw are independent: the mask of neighbours is too."""
    torch.manual_seed(1)
    mask = keep_mask((1_000_000,), 0.5).float()
    both = (mask[:-1] * mask[1:]).mean().item()
    assert abs(both - 0.25) < 0.002


def test_seeded_and_identity_in_eval() -> None:
    x = torch.randn(64, 32)
    dropout = Dropout(0.3)
    torch.manual_seed(5)
    first = dropout.train()(x)
    torch.manual_seed(5)
    assert torch.equal(first, dropout(x))
    assert torch.equal(dropout.eval()(x), x)
    assert isinstance(dropout, nn.Dropout)


def test_gradient_is_the_scaled_mask() -> None:
    x = torch.randn(50, 40, requires_grad=True)
    out = Dropout(0.2).train()(x)
    out.sum().backward()
    kept = out.detach() != 0
    torch.testing.assert_close(x.grad, kept.float() * 1.25)


@pytest.mark.parametrize(("p", "expected"), [(0.0, 1.0), (1.0, 0.0)])
def test_extreme_rates(p: float, expected: float) -> None:
    out = Dropout(p).train()(torch.ones(10, 3))
    assert torch.equal(out, torch.full((10, 3), expected))
