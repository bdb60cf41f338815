"""Gradient explainers: saliency, gradient × input, Integrated Gradients and GradGAM.

All jets of a batch are explained in one backward pass (Integrated Gradients: one per step), since each
jet's output depends only on its own tracks. ``input="standardized"`` (default, as for LRP) takes the
derivatives with respect to the BatchNorm-standardised features, ``input="raw"`` with respect to the features
as read. The model runs with its eval-mode statistics.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.base import Explanation, register_explainer
from hepxai.explain.forward import eval_mode, logits_with_standardized, standardize, target_logit
from hepxai.explain.lrp_dense import dense_lrp
from hepxai.explain.targets import resolve_target, target_weights
from hepxai.models.dense import dense_applies
from hepxai.models.registry import GraphModel

InputSpace = Literal["standardized", "raw"]


class _InputGradient:
    """Shared plumbing: the reference input, and the gradient of the explained logit at any point."""

    def __init__(self, model: GraphModel, *, input: InputSpace = "standardized", fast: bool = True) -> None:
        if input not in ("standardized", "raw"):
            msg = f"{type(self).__name__}: input must be 'standardized' or 'raw' (got {input!r})"
            raise ValueError(msg)
        self.model, self.input, self.fast = model, input, fast

    def gradient_at_input(self, batch: Batch, target: str | None) -> tuple[Tensor, Tensor, Tensor]:
        """The reference input, the explained logit and its gradient there.

        Uses the dense HIN path (:mod:`hepxai.explain.lrp_dense` with ε = 0, where the modified backward
        pass is the ordinary gradient) when it applies, else autograd through the model's forward.
        """
        if self.fast and dense_applies(self.model, batch):
            seed = target_weights(self.model, resolve_target(self.model, target))
            with eval_mode(self.model):
                dense = dense_lrp(self.model, batch, seed, epsilon=0.0, raw=self.input == "raw", edges=False)
            reference = self.reference(batch)
            return reference, dense.logits @ seed.to(dense.logits), dense.gradient
        reference = self.reference(batch)
        return (reference, *self.gradient(batch, reference, target))

    def reference(self, batch: Batch) -> Tensor:
        """``[num_tracks, num_features]`` the point the relevance refers to (standardised or raw features)."""
        parameter = next(self.model.parameters())
        x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
        return standardize(self.model, x) if self.input == "standardized" else x

    def gradient(self, batch: Batch, point: Tensor, target: str | None) -> tuple[Tensor, Tensor]:
        """Explained logit ``[num_jets]`` at ``point`` and its gradient ``[num_tracks, num_features]``."""
        point = point.detach().requires_grad_(True)
        with torch.enable_grad(), eval_mode(self.model):
            if self.input == "standardized":
                logits = logits_with_standardized(self.model, batch, point)
            else:
                moved = copy.copy(batch)
                moved.x = point
                logits = self.model(moved)
            explained = target_logit(self.model, batch, logits, target)
            (grad,) = torch.autograd.grad(explained.sum(), point)
        return explained.detach(), grad


@register_explainer("saliency")
class Saliency(_InputGradient):
    """``|∂ logit / ∂ x|`` per track feature (Simonyan et al., 2014, https://arxiv.org/abs/1312.6034).

    Args:
        model: Any model.
        input: ``"standardized"`` or ``"raw"`` features as the variables of the derivative.
        fast: Use the dense HIN path where it applies (the same gradient, faster).
    """

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Absolute gradient of the ``target`` logit for every track feature of ``batch``."""
        _, logit, grad = self.gradient_at_input(batch, target)
        return Explanation(
            node=grad.abs(), batch=batch.batch, logit=logit, target=resolve_target(self.model, target)
        )


@register_explainer("gradient_x_input")
class GradientTimesInput(_InputGradient):
    """``x ⊙ ∂ logit / ∂ x`` (Shrikumar et al., 2016, https://arxiv.org/abs/1605.01713).

    Args:
        model: Any model.
        input: ``"standardized"`` or ``"raw"``; on raw features the result depends on each feature's offset.
        fast: Use the dense HIN path where it applies (the same gradient, faster).
    """

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Gradient times input of the ``target`` logit for every track feature of ``batch``."""
        reference, logit, grad = self.gradient_at_input(batch, target)
        return Explanation(
            node=reference * grad, batch=batch.batch, logit=logit, target=resolve_target(self.model, target)
        )


@register_explainer("integrated_gradients")
class IntegratedGradients(_InputGradient):
    """Integrated Gradients from a zero baseline (Sundararajan et al., 2017, https://arxiv.org/abs/1703.01365).

    ``(x − x₀) ⊙ ∫₀¹ ∂ logit / ∂ x (x₀ + α (x − x₀)) dα`` by the midpoint rule. The baseline ``x₀ = 0`` is,
    for ``input="standardized"``, every feature at its training mean. Completeness: the relevance of a jet
    sums to ``logit(x) − logit(x₀)`` up to the integration error.

    Args:
        model: The HIN.
        input: ``"standardized"`` or ``"raw"``.
        steps: Integration points.
    """

    def __init__(self, model: GraphModel, *, input: InputSpace = "standardized", steps: int = 32) -> None:
        super().__init__(model, input=input)
        if steps < 1:
            msg = f"IntegratedGradients: steps must be >= 1, got {steps}"
            raise ValueError(msg)
        self.steps = steps

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Integrated Gradients of the ``target`` logit for every track feature of ``batch``."""
        reference = self.reference(batch)
        total = torch.zeros_like(reference)
        for step in range(self.steps):
            alpha = (step + 0.5) / self.steps
            _, grad = self.gradient(batch, alpha * reference, target)
            total += grad
        logit, _ = self.gradient(batch, reference, target)
        return Explanation(
            node=reference * total / self.steps,
            batch=batch.batch,
            logit=logit,
            target=resolve_target(self.model, target),
        )


@register_explainer("gradgam")
class GradGAM:
    """Grad-CAM on the last node embedding (the model's ``embedding_name``), as the LRI paper's GradGAM.

    Per jet, channel weights are the gradients of the explained logit averaged over the jet's tracks; a
    track's score is ``ReLU(Σ_c weight_c · embedding_c)``. Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391.
    One score per track: ``node`` has shape ``[num_tracks, 1]``.

    Args:
        model: Any model that names its embedding module.
    """

    def __init__(self, model: GraphModel) -> None:
        self.model = model

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """GradGAM score of every track of ``batch`` for ``target``."""
        captured: list[Tensor] = []

        def keep(module: torch.nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            captured.append(output)

        handle = embedding_module(self.model).register_forward_hook(keep)
        try:
            with torch.enable_grad(), eval_mode(self.model):
                explained = target_logit(self.model, batch, self.model(batch), target)
                (embedding,) = captured
                (grad,) = torch.autograd.grad(explained.sum(), embedding)
        finally:
            handle.remove()
        weight = scatter(grad, batch.batch, dim=0, dim_size=explained.shape[0], reduce="mean")
        score = torch.relu((weight[batch.batch] * embedding.detach()).sum(dim=1, keepdim=True))
        return Explanation(
            node=score, batch=batch.batch, logit=explained.detach(), target=resolve_target(self.model, target)
        )


def embedding_module(model: GraphModel) -> torch.nn.Module:
    """The module whose output is the model's last per-node embedding.

    Raises:
        ValueError: the model names none.
    """
    module = model.submodule(model.embedding_name)
    if module is None:
        msg = f"{type(model).__name__} names no embedding module (embedding_name), which this explainer needs"
        raise ValueError(msg)
    return module
