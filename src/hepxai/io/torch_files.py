"""Loading files written with ``torch.save`` (graphs, point-set splits, scores, checkpoints) safely.

``weights_only=True`` refuses any pickled object other than tensors and plain containers, so a foreign or
malicious file cannot run code; a missing, empty, truncated or foreign file ends in one :class:`InputError`
naming the file.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from hepxai.errors import InputError


def load_torch(path: str | Path, what: str, *, allowed: Sequence[type] = ()) -> Any:
    """The content of the torch file ``path``, which holds a ``what`` (named in the error); ``allowed``
    classes (plain data containers such as PyG's ``Data``) may be in it besides tensors.

    Raises:
        InputError: the file is missing, empty, truncated or holds objects other than tensors.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: {what} not found"
        raise InputError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: {what} is empty (0 bytes)"
        raise InputError(msg)
    try:
        with torch.serialization.safe_globals(list(allowed)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise unreadable(path, what, err) from err


def unreadable(path: str | Path, what: str, err: Exception) -> InputError:
    """The one-line error for a file that torch (or numpy) could not load; ``err`` may have no message."""
    if isinstance(err, pickle.UnpicklingError) and "Unsupported global" in str(err):
        return InputError(f"{path}: not a {what} written by hepxai (it holds objects other than tensors)")
    if isinstance(err, pickle.UnpicklingError):
        return InputError(f"{path}: not a readable {what} (no torch data, or damaged)")
    lines = str(err).strip().splitlines()
    detail = f": {lines[0]}" if lines else ""
    return InputError(f"{path}: not a readable {what}, truncated or damaged ({type(err).__name__}{detail})")
