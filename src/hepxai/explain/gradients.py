"""Gradient explainers: saliency, gradient × input, Integrated Gradients, GradGAM and GradGeo.

All jets of a batch are explained in one backward pass (Integrated Gradients: one per step), since each
jet's output depends only on its own tracks. ``input="standardized"`` (default, as for LRP) takes the
derivatives with respect to the BatchNorm-standardised features, ``input="raw"`` with respect to the features
as read. The model runs with its eval-mode statistics.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.data.graphs import distance_and_direction, unit_direction
from hepxai.explain.base import Explanation, register_explainer
from hepxai.explain.canonizers import FastLRP, fast_lrp
from hepxai.explain.forward import eval_mode, logits_with_standardized, standardize, target_logit
from hepxai.explain.targets import resolve_target, target_weights
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

        Uses the fast LRP the model's kind registers (:mod:`hepxai.explain.canonizers`) with ε = 0, where
        the modified backward pass is the ordinary gradient, when it applies; else autograd through the
        model's forward.
        """
        fast = self._fast(batch)
        if fast is not None:
            seed = target_weights(self.model, resolve_target(self.model, target))
            with eval_mode(self.model):
                result = fast(self.model, batch, seed, epsilon=0.0, raw=self.input == "raw", edges=False)
            reference = self.reference(batch)
            return reference, result.logits @ seed.to(result.logits), result.gradient
        reference = self.reference(batch)
        return (reference, *self.gradient(batch, reference, target))

    def _fast(self, batch: Batch) -> FastLRP | None:
        return fast_lrp(self.model, batch) if self.fast else None

    def reference(self, batch: Batch) -> Tensor:
        """``[num_tracks, num_features]`` the point the relevance refers to (standardised or raw features)."""
        parameter = next(self.model.parameters())
        x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
        return standardize(self.model, x) if self.input == "standardized" else x

    def gradient(self, batch: Batch, point: Tensor, target: str | None) -> tuple[Tensor, Tensor]:
        """Explained logit ``[num_jets]`` at ``point`` and its gradient ``[num_tracks, num_features]``."""
        explained, grad, _ = self.gradients(batch, point, target, edge_attr=False)
        return explained, grad

    def gradients(
        self, batch: Batch, point: Tensor, target: str | None, *, edge_attr: bool = True
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """:meth:`gradient`, and the gradient ``[num_edges, edge_features]`` with respect to the batch's
        ``edge_attr`` (``None`` without float edge attributes or with ``edge_attr=False``)."""
        point = point.detach().requires_grad_(True)
        moved = copy.copy(batch)
        edges = getattr(batch, "edge_attr", None)
        leaves = [point]
        if edge_attr and edges is not None and edges.is_floating_point():
            moved.edge_attr = edges.to(point).detach().requires_grad_(True)
            leaves.append(moved.edge_attr)
        with torch.enable_grad(), eval_mode(self.model):
            if self.input == "standardized":
                logits = logits_with_standardized(self.model, moved, point)
            else:
                moved.x = point
                logits = self.model(moved)
            explained = target_logit(self.model, batch, logits, target)
            grads = torch.autograd.grad(explained.sum(), leaves, allow_unused=True)
        edge_grad = None
        if len(leaves) > 1:
            edge_grad = torch.zeros_like(leaves[1]) if grads[1] is None else grads[1]
        return explained.detach(), grads[0], edge_grad


@register_explainer("saliency")
class Saliency(_InputGradient):
    """``|∂ logit / ∂ x|`` per track feature (Simonyan et al., 2014, https://arxiv.org/abs/1312.6034).

    Args:
        model: Any model.
        input: ``"standardized"`` or ``"raw"`` features as the variables of the derivative.
        fast: Use the model's registered fast path where it applies (the same gradient, faster).
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
        fast: Use the model's registered fast path where it applies (the same gradient, faster).
    """

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Gradient times input of the ``target`` logit for every track feature of ``batch``, and of every
        edge attribute where the batch has float ones (point clouds: distances and directions)."""
        edges = getattr(batch, "edge_attr", None)
        if edges is None or not edges.is_floating_point() or self._fast(batch) is not None:
            reference, logit, grad = self.gradient_at_input(batch, target)
            edge_relevance = None
        else:
            reference = self.reference(batch)
            logit, grad, edge_grad = self.gradients(batch, reference, target)
            edge_relevance = edges.to(edge_grad) * edge_grad
        return Explanation(
            node=reference * grad,
            batch=batch.batch,
            logit=logit,
            target=resolve_target(self.model, target),
            edge_attr=edge_relevance,
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


@register_explainer("gradgeo")
class GradGeo:
    """``‖∂ logit / ∂ r_v‖``: how strongly the explained logit reacts to moving each point, the LRI paper's
    GradGeo (after Shrikumar et al., 2017). One score per point: ``node`` has shape ``[num_points, 1]``.

    Positions reach a point-cloud model through ``batch.pos`` and through the edge attributes built from
    them, ``(‖Δr‖, Δr/‖Δr‖)`` (:func:`~hepxai.data.graphs.distance_and_direction`); both are recomputed
    from one differentiable copy of the positions. The graph itself (which points are neighbours) stays:
    a nearest-neighbour search has no gradient.

    Args:
        model: Any model reading ``batch.pos`` or distance-and-direction edge attributes.
    """

    def __init__(self, model: GraphModel) -> None:
        self.model = model

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Gradient norm with respect to every point's position, for ``target``.

        Raises:
            ValueError: the batch has no ``pos``, or edge attributes that are not the distances and
                directions of the positions or of their unit directions (no gradient would reach them).
        """
        if getattr(batch, "pos", None) is None:
            msg = "GradGeo: the batch has no pos (point positions)"
            raise ValueError(msg)
        parameter = next(self.model.parameters())
        pos = batch.pos.to(device=parameter.device, dtype=parameter.dtype).detach().requires_grad_(True)
        moved = copy.copy(batch)
        moved.pos = pos
        edges = getattr(batch, "edge_attr", None)
        geometry = _edge_geometry(edges, pos.detach(), batch.edge_index) if edges is not None else None
        with torch.enable_grad(), eval_mode(self.model):
            if geometry is not None:
                moved.edge_attr = distance_and_direction(geometry(pos), batch.edge_index)
            explained = target_logit(self.model, batch, self.model(moved), target)
            (grad,) = torch.autograd.grad(explained.sum(), pos)
        return Explanation(
            node=torch.linalg.vector_norm(grad, dim=1, keepdim=True),
            batch=batch.batch,
            logit=explained.detach(),
            target=resolve_target(self.model, target),
        )


def _edge_geometry(edges: Tensor, pos: Tensor, edge_index: Tensor) -> Callable[[Tensor], Tensor]:
    """The map of the positions whose distances and directions ``edges`` are: the positions themselves, or
    their unit directions (the graphs of ActsTrack hits, :func:`~hepxai.data.graphs.unit_direction`).

    Raises:
        ValueError: ``edges`` are neither.
    """
    for geometry in (_identity, unit_direction):
        expected = distance_and_direction(geometry(pos), edge_index)
        if edges.shape == expected.shape and torch.allclose(edges.to(expected), expected, atol=1e-4):
            return geometry
    msg = "GradGeo: batch.edge_attr is not (distance, direction) of batch.pos nor of its unit directions"
    raise ValueError(msg)


def _identity(pos: Tensor) -> Tensor:
    return pos


def embedding_width(model: GraphModel) -> int:
    """Channels of the model's node embedding: the output width of the last Linear of its module.

    Raises:
        ValueError: the model names no embedding module, or it holds no Linear layer.
    """
    linears = [m for m in embedding_module(model).modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        msg = f"{type(model).__name__}: the embedding module holds no Linear layer to read its width from"
        raise ValueError(msg)
    return linears[-1].out_features


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
