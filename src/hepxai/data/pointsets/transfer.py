"""Samples sent from worker processes as NumPy arrays, not tensors.

Tensors pickled between processes travel as shared-memory file descriptors (torch registers that with
``multiprocessing``); thousands of small samples exhaust what a socket passes at once ("received 0 items
of ancdata") and a pool's result thread dies. Plain arrays pickle as bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data


def to_plain(sample: Data | None) -> dict[str, Any] | None:
    """The sample's fields, tensors as NumPy arrays."""
    if sample is None:
        return None
    return {key: value.numpy() if isinstance(value, torch.Tensor) else value for key, value in sample.items()}


def from_plain(fields: dict[str, Any] | None) -> Data | None:
    """The sample back from :func:`to_plain`."""
    if fields is None:
        return None
    return Data(
        **{
            key: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
            for key, value in fields.items()
        }
    )
