"""The LRI objectives: KL terms on hand-computed cases, positive definite covariances, finite losses."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, MultivariateNormal, kl_divergence

from hepxai.lri import LRIBernoulli, LRIGaussian, PointMask, bernoulli_kl, gaussian_kl
from hepxai.lri.bernoulli import masked
from hepxai.lri.gaussian import log_determinant


@pytest.mark.parametrize(
    ("p", "alpha", "expected"),
    [
        (0.5, 0.5, 0.0),  # same distribution
        (0.9, 0.5, 0.9 * math.log(1.8) + 0.1 * math.log(0.2)),  # 0.368064
        (0.7, 0.7, 0.0),
        (1.0, 0.7, math.log(1 / 0.7)),  # a sure keep: log(1/α)
    ],
)
def test_bernoulli_kl_hand_computed(p: float, alpha: float, expected: float) -> None:
    value = bernoulli_kl(torch.tensor([p], dtype=torch.float64), alpha)
    # p is clamped to [1e-6, 1 − 1e-6] (a sure keep would give an infinite gradient): 1e-5 of slack.
    torch.testing.assert_close(value, torch.tensor([expected], dtype=torch.float64), atol=3e-5, rtol=0)


def test_bernoulli_kl_matches_torch() -> None:
    p = torch.linspace(0.01, 0.99, 25, dtype=torch.float64)
    expected = kl_divergence(Bernoulli(probs=p), Bernoulli(probs=torch.full_like(p, 0.6)))
    torch.testing.assert_close(bernoulli_kl(p, 0.6), expected)


def test_gaussian_kl_hand_computed() -> None:
    identity = torch.eye(3, dtype=torch.float64)
    diagonal = torch.diag(torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64))
    # ½ (tr Σ / σ − d + d ln σ − ln det Σ): Σ = σI gives 0; diag(2, 1, 1) against I gives ½ (4 − 3 − ln 2).
    values = gaussian_kl(torch.stack([0.5 * identity, diagonal]), 1.0)
    torch.testing.assert_close(
        values,
        torch.tensor([0.5 * (1.5 - 3 - math.log(0.125)), 0.5 * (1 - math.log(2))], dtype=torch.float64),
    )
    torch.testing.assert_close(gaussian_kl(0.5 * identity[None], 0.5), torch.zeros(1, dtype=torch.float64))


def test_gaussian_kl_matches_torch() -> None:
    generator = torch.Generator().manual_seed(0)
    factor = torch.randn(8, 3, 3, generator=generator, dtype=torch.float64)
    covariance = factor @ factor.transpose(1, 2) + 0.1 * torch.eye(3, dtype=torch.float64)
    sigma = 0.7
    prior = MultivariateNormal(torch.zeros(3, dtype=torch.float64), sigma * torch.eye(3, dtype=torch.float64))
    expected = kl_divergence(MultivariateNormal(torch.zeros(8, 3, dtype=torch.float64), covariance), prior)
    torch.testing.assert_close(gaussian_kl(covariance, sigma), expected)


def test_covariance_is_positive_definite_and_scores_follow_its_determinant(model, batch) -> None:
    objective = LRIGaussian(model, scale=10.0).eval()
    model.eval()
    with torch.no_grad():
        covariance, a1, a2, _ = objective.covariance(model, batch)
        scores = objective.scores(model, batch)
    assert covariance.shape == (batch.num_nodes, 3, 3)
    torch.testing.assert_close(covariance, covariance.transpose(1, 2))
    eigenvalues = torch.linalg.eigvalsh(covariance)
    assert (eigenvalues >= a2[:, None] * (1 - 1e-4)).all()  # Σ = a1·UUᵀ + a2·I ≥ a2·I
    assert (a1 > 0).all()
    assert (a2 > 0).all()
    torch.testing.assert_close(scores, -torch.log(torch.linalg.det(covariance)), rtol=1e-4, atol=1e-4)


def test_alpha_is_annealed_after_the_warmup(model) -> None:
    objective = LRIBernoulli(model, final_alpha=0.7, warmup=5)
    alphas = [objective.alpha(epoch) for epoch in (6, 15, 16, 25, 26, 36, 300)]
    assert alphas == pytest.approx([0.9, 0.9, 0.8, 0.8, 0.7, 0.7, 0.7])
    assert not objective.selectable(5)
    assert objective.selectable(6)


@pytest.mark.parametrize(
    "make",
    [
        lambda model: LRIBernoulli(model),
        lambda model: LRIGaussian(model, scale=10.0),
        lambda model: LRIGaussian(model, scale=10.0, weighting="none"),
        lambda model: PointMask(model),
    ],
    ids=["bernoulli", "gaussian", "gaussian_unweighted", "pointmask"],
)
def test_loss_is_finite_and_trains_the_generator(make, model, batch) -> None:
    objective = make(model)
    loss = objective(model, batch, epoch=1)
    assert loss.shape == (batch.num_graphs,)
    assert torch.isfinite(loss).all()
    loss.mean().backward()
    extractor_grads = [p.grad for p in objective.extractor.parameters()]
    assert all(grad is not None and torch.isfinite(grad).all() for grad in extractor_grads)
    assert any(grad.abs().sum() > 0 for grad in extractor_grads)
    with torch.no_grad():
        objective.eval(), model.eval()
        assert objective.scores(model, batch).shape == (batch.num_nodes,)
        assert objective.logits(model, batch).shape == (batch.num_graphs, 1)


def test_the_learned_distance_weights_get_gradients(model, batch) -> None:
    objective = LRIGaussian(model, scale=10.0)
    objective(model, batch, epoch=1).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in objective.distance_weight.parameters())


def test_warmup_trains_the_backbone_alone(model, batch) -> None:
    objective = LRIBernoulli(model, warmup=2)
    objective(model, batch, epoch=2).mean().backward()
    assert all(p.grad is None for p in objective.extractor.parameters())


def test_zero_mask_removes_points(model, batch) -> None:
    """A 0/1 mask through edge and node weights equals dropping the masked points (the 'removal' of LRI)."""
    from hepxai.explain.forward import drop_tracks

    model.eval()
    keep = torch.rand(batch.num_nodes) > 0.3
    with torch.no_grad():
        masked_logits = model(masked(batch, keep.float()))
        dropped = drop_tracks(batch, keep)
        torch.testing.assert_close(masked_logits, model(dropped), atol=1e-5, rtol=1e-5)


def test_log_determinant_by_sylvester() -> None:
    generator = torch.Generator().manual_seed(1)
    factor = torch.randn(5, 3, 3, generator=generator, dtype=torch.float64)
    a1 = torch.tensor([1e-3, 0.5, 1.0, 10.0, 1e3], dtype=torch.float64)
    a2 = torch.tensor([1e-6, 1e-3, 1.0, 0.1, 2.0], dtype=torch.float64)
    covariance = a1[:, None, None] * factor @ factor.transpose(1, 2) + a2[:, None, None] * torch.eye(3)
    torch.testing.assert_close(log_determinant(a1, a2, factor), torch.logdet(covariance))


def test_the_plane_covariance_moves_x_and_y_only_and_trains_its_own_encoder(model, batch) -> None:
    objective = LRIGaussian(model, scale=10.0, plane=True, separate_encoder=True, model_lr=1e-8)
    moved: list[torch.Tensor] = []
    original = objective.graph
    objective.graph = lambda graph, pos: moved.append(pos) or original(graph, pos)
    objective(model, batch, epoch=1).mean().backward()
    perturbed = moved[1]  # the first graph is that of the true positions, which Σ is read from
    torch.testing.assert_close(perturbed[:, 2], batch.pos[:, 2])  # the perturbed positions keep their z
    assert not torch.equal(perturbed[:, :2], batch.pos[:, :2])
    assert objective.covariance(model, batch)[0].shape == (batch.num_nodes, 2, 2)
    assert all(parameter.grad is not None for parameter in objective.encoder.layers.parameters())
    groups = objective.parameter_groups(model)
    assert groups[0]["lr"] == 1e-8
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.parameters()}


def test_without_rebuild_the_graph_is_the_batchs_with_attributes_of_the_moved_points(model, batch) -> None:
    objective = LRIGaussian(model, scale=10.0, rebuild=False, weighting="none")
    pos = (batch.pos + 0.1).requires_grad_(True)
    graph = objective.graph(batch, pos * torch.tensor([2.0, 1.0, 1.0]))
    assert torch.equal(graph.edge_index, batch.edge_index)
    source, target = batch.edge_index
    delta = (pos[source] - pos[target]) * torch.tensor([2.0, 1.0, 1.0])
    torch.testing.assert_close(graph.edge_attr[:, 0], torch.linalg.vector_norm(delta, dim=1))
    graph.edge_attr[:, 0].sum().backward()
    assert pos.grad is not None
    with pytest.raises(ValueError, match="weighting='none'"):
        LRIGaussian(model, scale=10.0, rebuild=False)
