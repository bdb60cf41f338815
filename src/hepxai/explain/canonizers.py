"""Canonizers: faster exact forms of a model kind, registered by the model kind itself.

An explainer never names a model kind. A kind that can be explained faster in another, equivalent form
(the HIN's dense ``[jets, N, N, hidden]`` blocks, registered from ``models/dense_lrp.py``) registers that
form here for its class, together with a test of when it applies; the explainer asks :func:`fast_lrp` and
falls back to its generic path when nothing is registered or nothing applies. zennit's canonizers follow the
same idea: rewrite the model, keep its function and its explanation.

A registered form must compute what the generic path computes: LRP-ε of the model's own layers, with ε
at the same places (tested against ``LRP(..., fast=False)``). Folding an eval-mode BatchNorm into the
Linear before it is such a rewrite (:func:`batchnorm_affine`): the generic path applies ε to the folded
layer's output too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch


@dataclass(frozen=True)
class FastRelevance:
    """What a fast LRP form computes, in the batch's node and edge order."""

    node: Tensor  # [num_nodes, num_features] relevance of the reference input
    gradient: Tensor  # [num_nodes, num_features] modified gradient at the reference input (ε = 0: gradient)
    edge: Tensor | None  # [num_edges, 2 * num_features], None unless asked for
    edge_significance: Tensor | None  # [num_edges] ‖edge‖ over its graph's total, None unless asked for
    absorbed: Tensor  # [num_graphs] what biases and ε took, summed layer by layer
    logits: Tensor  # [num_graphs, num_classes]


class FastLRP(Protocol):
    """LRP-ε with one ε for every layer, seeded with ``seed`` ``[num_classes]`` at the logits.

    ``raw``: relevance of the raw input instead of the standardised one; ``edges``: also the relevance of
    every edge's inputs and the edge significance. ε = 0 gives the gradient (``FastRelevance.gradient``).
    """

    def __call__(
        self, model: nn.Module, batch: Batch, seed: Tensor, *, epsilon: float, raw: bool, edges: bool
    ) -> FastRelevance: ...


Applies = Callable[[nn.Module, Batch], bool]


@dataclass(frozen=True)
class _Registered:
    applies: Applies
    lrp: FastLRP


_FAST_LRP: dict[type[nn.Module], _Registered] = {}


def register_fast_lrp(model_class: type[nn.Module], applies: Applies, lrp: FastLRP) -> None:
    """Register ``lrp`` as the fast LRP-ε of ``model_class``, used where ``applies(model, batch)``.

    Only instances of exactly this class use it: a subclass may compute something else.

    Raises:
        ValueError: another function is registered for the class.
    """
    registered = _FAST_LRP.get(model_class)
    if registered is not None and registered.lrp is not lrp:
        msg = f"a fast LRP is already registered for {model_class.__name__}"
        raise ValueError(msg)
    _FAST_LRP[model_class] = _Registered(applies, lrp)


def fast_lrp(model: nn.Module, batch: Batch) -> FastLRP | None:
    """The fast LRP-ε registered for ``model``'s class if it applies to ``batch``, else ``None``."""
    registered = _FAST_LRP.get(type(model))
    if registered is None or not registered.applies(model, batch):
        return None
    return registered.lrp


def batchnorm_affine(batchnorm: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift``, the map folded into the Linear before it.

    Raises:
        ValueError: the BatchNorm keeps no running statistics.
    """
    if batchnorm.running_mean is None or batchnorm.running_var is None:
        msg = f"{batchnorm} has no running statistics to fold"
        raise ValueError(msg)
    with torch.no_grad():
        scale = torch.rsqrt(batchnorm.running_var + batchnorm.eps)
        if batchnorm.weight is not None:
            scale = scale * batchnorm.weight
        shift = -batchnorm.running_mean * scale
        if batchnorm.bias is not None:
            shift = shift + batchnorm.bias
    return scale.detach(), shift.detach()
