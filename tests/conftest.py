"""Shared test settings: fixed seeds, and optional system packages that CI makes mandatory."""

from __future__ import annotations

import os

import pytest
import torch

# One thread: the tests' tensors are small, and two threads per process oversubscribe a loaded 2-core machine.
torch.set_num_threads(1)


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; fail in CI, where ``HEPXAI_REQUIRE_ALL=1`` says everything is installed."""
    if os.environ.get("HEPXAI_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (HEPXAI_REQUIRE_ALL=1 makes this mandatory)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
