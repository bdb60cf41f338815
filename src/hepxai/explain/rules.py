"""LRP rules for ``Linear`` layers, written as modified backward passes.

Every rule keeps one invariant: the gradient arriving at any tensor ``a`` is ``R_a / a``, so the relevance
of any tensor is ``a * grad_a``. A rule receives the gradient at a layer's output ``z = a Wᵀ + b`` (so
``R_z = z * grad_z``) and returns the gradient at its input together with what the layer's bias and
stabiliser absorb, row by row. ``Σ_j a_j grad_a_j + absorbed = Σ_k R_z_k`` holds for every row.

The definitions follow zennit (``zennit.rules.Epsilon``, ``Gamma``, ``ZPlus``, the generalised versions that
also accept negative inputs), and the stabiliser is zennit's: ``z + ε·sign(z)`` with ``sign(0) = +1``.
Montavon et al., "Layer-wise relevance propagation: an overview" (2019), https://doi.org/10.1007/978-3-030-28954-6_10
"""

from __future__ import annotations

import torch
from torch import Tensor


def _sign(z: Tensor) -> Tensor:
    """``sign(z)`` with ``sign(0) = +1`` (``torch.sign`` gives 0 there: ``0/(0 + ε·0)`` would be NaN)."""
    return torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


def _stabilize(z: Tensor, epsilon: float) -> Tensor:
    return z + epsilon * _sign(z) if epsilon else z


def _ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` with ``0/0 = 0`` (only reachable with ε = 0, where ``R_z = 0`` anyway)."""
    ratio = numerator / denominator
    return torch.where(denominator == 0, torch.zeros_like(ratio), ratio)


class Rule:
    """An LRP rule for a ``Linear`` layer ``z = a Wᵀ + b``.

    Attributes:
        needs_input: Whether :meth:`backward` uses the layer input ``a`` (kept for the backward pass).
    """

    needs_input = True

    def backward(
        self, inputs: Tensor | None, output: Tensor, grad_output: Tensor, weight: Tensor, bias: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The modified backward pass of one layer.

        Args:
            inputs: ``[rows, in]`` layer input ``a`` (``None`` when ``needs_input`` is false).
            output: ``[rows, out]`` layer output ``z``.
            grad_output: ``[rows, out]`` gradient at ``z``, i.e. ``R_z / z``.
            weight: ``[out, in]``; bias: ``[out]``.

        Returns:
            ``[rows, in]`` gradient at ``a`` (``R_a / a``) and ``[rows]`` what bias and stabiliser take.
        """
        raise NotImplementedError


class Epsilon(Rule):
    """LRP-ε: ``R_j = Σ_k a_j w_jk / (z_k + ε·sign z_k) · R_k``; ``epsilon=0`` is LRP-0.

    The bias and ε absorb ``(b_k + ε·sign z_k) / (z_k + ε·sign z_k) · R_k``.
    """

    needs_input = False

    def __init__(self, epsilon: float = 1e-6) -> None:
        if epsilon < 0:
            msg = f"Epsilon: epsilon must be >= 0 (got {epsilon})"
            raise ValueError(msg)
        self.epsilon = float(epsilon)

    def backward(
        self, inputs: Tensor | None, output: Tensor, grad_output: Tensor, weight: Tensor, bias: Tensor
    ) -> tuple[Tensor, Tensor]:
        # z / (z + ε·sign z) = |z| / (|z| + ε): the same number, without a sign (and 0 at z = 0).
        magnitude = output.abs()
        if self.epsilon:
            ratio = magnitude.div_(magnitude + self.epsilon)
        else:
            ratio = torch.where(output == 0, 0.0, 1.0).to(output.dtype)  # z/z = 1, and 0/0 = 0
        scaled = ratio.mul_(grad_output)  # R_z / (z + ε·sign z)
        # bias: b·R_z/(z + ε·sign z); ε: ε·sign z·R_z/(z + ε·sign z) = R_z·(1 − ratio) = z·grad − z·scaled
        absorbed = scaled @ bias
        if self.epsilon:
            absorbed += torch.linalg.vecdot(output, grad_output - scaled)
        return scaled @ weight, absorbed

    def __repr__(self) -> str:
        return f"Epsilon(epsilon={self.epsilon:g})"


class Gamma(Rule):
    """Generalised LRP-γ: positive contributions (those with the sign of ``z_k``) are boosted by ``γ``.

    For ``z_k > 0`` the denominator is ``a⁺(W + γW⁺)ᵀ + a⁻(W + γW⁻)ᵀ + b + γb⁺``; for ``z_k < 0`` the roles
    of ``W⁺`` and ``W⁻`` swap (and ``b + γb⁻``). With non-negative inputs this is the original γ-rule.
    """

    def __init__(self, gamma: float = 0.25, epsilon: float = 1e-6) -> None:
        if gamma < 0 or epsilon < 0:
            msg = f"Gamma: gamma and epsilon must be >= 0 (got gamma={gamma}, epsilon={epsilon})"
            raise ValueError(msg)
        self.gamma, self.epsilon = float(gamma), float(epsilon)

    def backward(
        self, inputs: Tensor | None, output: Tensor, grad_output: Tensor, weight: Tensor, bias: Tensor
    ) -> tuple[Tensor, Tensor]:
        inputs = _required(inputs, self)
        positive_input, negative_input = inputs.clamp(min=0), inputs.clamp(max=0)
        boost_up = weight + self.gamma * weight.clamp(min=0)  # W + γW⁺
        boost_down = weight + self.gamma * weight.clamp(max=0)  # W + γW⁻
        relevance = output * grad_output
        grad_input = torch.zeros_like(inputs)
        absorbed = torch.zeros_like(output[:, 0])
        for active, bias_mod, weight_positive, weight_negative in (
            (output > 0, bias + self.gamma * bias.clamp(min=0), boost_up, boost_down),
            (output < 0, bias + self.gamma * bias.clamp(max=0), boost_down, boost_up),
        ):
            contributions = positive_input @ weight_positive.T + negative_input @ weight_negative.T
            denominator = _stabilize(contributions + bias_mod, self.epsilon)
            scaled = _ratio(relevance * active, denominator)
            grad_input += torch.where(inputs > 0, scaled @ weight_positive, scaled @ weight_negative)
            absorbed += (scaled * (denominator - contributions)).sum(dim=1)
        return torch.where(inputs == 0, torch.zeros_like(grad_input), grad_input), absorbed

    def __repr__(self) -> str:
        return f"Gamma(gamma={self.gamma:g}, epsilon={self.epsilon:g})"


def _required(inputs: Tensor | None, rule: Rule) -> Tensor:
    if inputs is None:
        msg = f"{rule!r} needs the layer input for its backward pass"
        raise ValueError(msg)
    return inputs


class ZPlus(Rule):
    """Generalised LRP-z⁺ (αβ with α=1, β=0): only contributions of the sign of the positive weights count.

    Denominator ``a⁺W⁺ᵀ + a⁻W⁻ᵀ + b⁺ + ε``; with non-negative inputs this is the original z⁺ rule.
    """

    def __init__(self, epsilon: float = 1e-6) -> None:
        if epsilon < 0:
            msg = f"ZPlus: epsilon must be >= 0 (got {epsilon})"
            raise ValueError(msg)
        self.epsilon = float(epsilon)

    def backward(
        self, inputs: Tensor | None, output: Tensor, grad_output: Tensor, weight: Tensor, bias: Tensor
    ) -> tuple[Tensor, Tensor]:
        inputs = _required(inputs, self)
        weight_positive, weight_negative = weight.clamp(min=0), weight.clamp(max=0)
        bias_positive = bias.clamp(min=0)
        contributions = inputs.clamp(min=0) @ weight_positive.T + inputs.clamp(max=0) @ weight_negative.T
        denominator = _stabilize(contributions + bias_positive, self.epsilon)
        scaled = _ratio(output * grad_output, denominator)
        grad_input = torch.where(
            inputs > 0, scaled @ weight_positive, torch.where(inputs < 0, scaled @ weight_negative, 0.0)
        )
        absorbed = (scaled * (denominator - contributions)).sum(dim=1)
        return grad_input, absorbed

    def __repr__(self) -> str:
        return f"ZPlus(epsilon={self.epsilon:g})"
