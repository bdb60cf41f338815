"""What a covariance Σ_v in the x–y plane says about a hit: the track direction and the track's curvature.

LRI-Gaussian learns per hit how much each direction of noise costs the prediction. Moving a hit along its
track costs little, across it much, so Σ_v's first principal component (the direction of the most noise)
estimates the particle's direction at the hit; the ratio of Σ_v's two principal lengths, the paper reads,
grows with the track's curvature, hence with the magnetic field (Miao et al. 2023, section 5.1, Table 3 and
Fig. 3). Two fits test that: a line through the origin (the paper's claim) and a power law ``a · B^p``, whose
exponent says which way and how fast the ratio follows B (p = 1 for the paper's proportionality).

Angles between two directions of the plane are folded to [0°, 90°]: a principal axis or a gradient has
no sign, so a direction and its opposite are the same. Two independent uniform directions are 45° apart
on average (standard deviation 90°/√12 ≈ 26°).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

RANDOM_ANGLE = 45.0
"""The mean angle between a uniformly random axis and any direction, in degrees."""
RANDOM_ANGLE_STD = 90.0 / math.sqrt(12.0)


def axis_angle(first: Tensor, second: Tensor) -> Tensor:
    """``[n]`` the angle in degrees, in [0, 90], between the axes of the ``[n, 2]`` vectors ``first`` and
    ``second`` (signs ignored)."""
    cosine = (first * second).sum(1).abs() / (
        torch.linalg.vector_norm(first, dim=1) * torch.linalg.vector_norm(second, dim=1)
    )
    return torch.rad2deg(torch.arccos(cosine.clamp(max=1.0)))


def principal_axes(covariance: Tensor) -> tuple[Tensor, Tensor]:
    """``[n, 2]`` the first principal component of every ``[n, 2, 2]`` covariance (the eigenvector of the
    largest eigenvalue) and ``[n]`` the ratio of the two principal lengths, ``√(λ_max / λ_min)`` (≥ 1)."""
    values, vectors = torch.linalg.eigh(covariance.double())  # eigenvalues in ascending order
    return vectors[:, :, 1], (values[:, 1] / values[:, 0]).sqrt()


@dataclass(frozen=True)
class OriginFit:
    """``y = slope · x``, least squares, and R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""

    slope: float
    r_squared: float


def fit_through_origin(x: Tensor, y: Tensor) -> OriginFit:
    """The line through the origin that best fits ``y`` against ``x``, and how well (R² about ȳ: a line
    that explains less than the mean alone gives a negative R²)."""
    x, y = x.double(), y.double()
    slope = float((x * y).sum() / (x * x).sum())
    return OriginFit(slope, _r_squared(y.numpy(), (slope * x).numpy()))


@dataclass(frozen=True)
class PowerFit:
    """``y = prefactor · x^exponent``, least squares on ``log y`` against ``log x``, with R² of that line."""

    prefactor: float
    exponent: float
    r_squared: float


def fit_power_law(x: Tensor, y: Tensor) -> PowerFit:
    """The power law through positive ``y`` against positive ``x``: a straight line in log–log, so that a
    law of either sign of exponent (y ∝ x, y ∝ 1/x) is found and measured the same way."""
    log_x, log_y = np.log(x.double().numpy()), np.log(y.double().numpy())
    exponent, intercept = np.polyfit(log_x, log_y, 1)
    return PowerFit(
        float(np.exp(intercept)), float(exponent), _r_squared(log_y, intercept + exponent * log_x)
    )


def _r_squared(y: np.ndarray, fitted: np.ndarray) -> float:
    """1 − Σ(y − ŷ)² / Σ(y − ȳ)²; NaN when y is constant."""
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - fitted) ** 2).sum()) / total if total > 0 else float("nan")
