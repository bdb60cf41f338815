"""The check every metric runs on its scores: a NaN or an infinity has no rank.

Sorting puts NaN last (numpy) or first (torch), so a NaN score would silently become the lowest or the highest
one: all-NaN scores would give an AUC of 1.0 when signal happens to be stored first. Metrics refuse them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from hepxai.errors import InputError


def require_finite(values: np.ndarray | Tensor, *, metric: str, name: str) -> None:
    """Raise unless every value is finite.

    Args:
        values: The scores (any shape).
        metric: The metric's name, for the message.
        name: The argument's name, for the message.

    Raises:
        InputError: some value is NaN or ±inf; the message says how many of how many.
    """
    if isinstance(values, Tensor):
        bad, total = int((~torch.isfinite(values)).sum()), values.numel()
    else:
        bad, total = int((~np.isfinite(values)).sum()), np.size(values)
    if bad:
        msg = f"{metric}: {name} has {bad} non-finite values (NaN or inf) of {total}"
        raise InputError(msg)
