"""LRI-Gaussian's generator pass recomputed in the backward pass: the same loss, gradients, BatchNorm
statistics and random draws as the pass kept in memory."""

from __future__ import annotations

import copy

import pytest
import torch

from hepxai.lri import LRIGaussian, gaussian
from hepxai.lri.recompute import recomputed


def _step(model, objective, batch) -> dict[str, torch.Tensor]:
    """One training step from a fixed generator state: loss, every gradient and buffer, the next draw."""
    model, objective = copy.deepcopy(model), copy.deepcopy(objective)
    model.train(), objective.train()
    torch.manual_seed(7)
    loss = objective(model, batch, epoch=1).mean()
    loss.backward()
    record = {"loss": loss.detach(), "next_draw": torch.rand(4)}
    for prefix, module in (("model", model), ("objective", objective)):
        record.update(
            {f"{prefix}.{n}.grad": p.grad for n, p in module.named_parameters() if p.grad is not None}
        )
        record.update({f"{prefix}.{n}": b.clone() for n, b in module.named_buffers()})
    return record


@pytest.mark.parametrize("separate_encoder", [False, True])
def test_a_recomputed_step_equals_a_kept_one(model, batch, monkeypatch, separate_encoder: bool) -> None:
    objective = LRIGaussian(model, scale=10.0, separate_encoder=separate_encoder)
    done = _step(model, objective, batch)
    monkeypatch.setattr(gaussian, "recomputed", lambda function, *inputs, modules: function(*inputs))
    kept = _step(model, objective, batch)
    assert done.keys() == kept.keys()
    assert any(name.endswith("running_mean") for name in done)  # BatchNorm statistics are compared
    assert sum(name.endswith(".grad") for name in done) > 20
    for name, value in kept.items():
        assert torch.equal(done[name], value), name


def test_batchnorm_statistics_count_the_batch_once(model, batch) -> None:
    norm = model.input_norm
    model.train()
    before = norm.running_mean.clone(), int(norm.num_batches_tracked)
    out = recomputed(lambda data: model(data), batch, modules=[model])
    after_forward = norm.running_mean.clone(), int(norm.num_batches_tracked)
    assert after_forward[1] == before[1] + 1
    out.sum().backward()  # runs the forward again
    assert torch.equal(norm.running_mean, after_forward[0])
    assert int(norm.num_batches_tracked) == after_forward[1]
