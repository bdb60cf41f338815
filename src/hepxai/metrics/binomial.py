"""Exact binomial intervals for efficiencies counted in few trials (track finding, QCD jets passing a cut)."""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

ONE_SIGMA = 0.6827  # central probability of ±1σ


def clopper_pearson(
    passed: np.ndarray | int, total: np.ndarray | int, *, confidence: float = ONE_SIGMA
) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper–Pearson interval of the efficiency ``passed / total``: exact, in [0, 1], conservative.

    From the beta distribution: lower = B((1 − c)/2; k, n − k + 1), upper = B((1 + c)/2; k + 1, n − k);
    lower is 0 at k = 0 and upper 1 at k = n. Both are NaN where ``total`` is 0.
    """
    passed, total = np.asarray(passed, np.float64), np.asarray(total, np.float64)
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lower = np.where(passed > 0, beta.ppf(tail, np.maximum(passed, 1), total - passed + 1), 0.0)
        upper = np.where(passed < total, beta.ppf(1 - tail, passed + 1, np.maximum(total - passed, 1)), 1.0)
    empty = total == 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)
