"""Shared test settings: fixed seeds, and optional packages and files that CI makes mandatory."""

from __future__ import annotations

import os
from pathlib import Path

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


REFERENCE_DIR = Path(
    os.environ.get(
        "HEPXAI_REFERENCE_DIR", Path(__file__).resolve().parents[2] / "shared" / "reference" / "hin_cms"
    )
)
"""The original HIN files: ``$HEPXAI_REFERENCE_DIR``, else ``../shared/reference/hin_cms`` by the clone."""
REFERENCE_FILES = ("hin_cms_state_dict.npz", "cms_jet_67tracks.npz", "definitions.yml")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of the original checkpoint, the real CMS jet and the original feature definitions.

    Skips where it is missing (set ``HEPXAI_REFERENCE_DIR``); fails under ``HEPXAI_REQUIRE_ALL=1`` (CI).
    """
    missing = [name for name in REFERENCE_FILES if not (REFERENCE_DIR / name).is_file()]
    if missing:
        skip_or_fail(
            f"{REFERENCE_DIR}: reference files missing ({', '.join(missing)}); set HEPXAI_REFERENCE_DIR"
        )
    return REFERENCE_DIR
