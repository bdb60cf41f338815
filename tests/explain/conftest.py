"""Seeded float64 models and jet batches for the explainer tests, and access to zennit's rule code."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.models import InteractionNetwork


def random_model(
    seed: int,
    *,
    num_features: int = 5,
    hidden: int = 12,
    bias: bool = True,
    dtype: torch.dtype = torch.float64,
) -> InteractionNetwork:
    """A HIN with random weights and random BatchNorm statistics, in eval mode.

    ``bias=False`` zeroes every Linear bias, BatchNorm shift and running mean: a model without any bias.
    """
    torch.manual_seed(seed)
    model = InteractionNetwork(num_features=num_features, hidden=hidden).to(dtype)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.normal_(0.0, 0.5 if bias else 0.0)
                module.running_var.uniform_(0.3, 3.0)
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3 if bias else 0.0)
            elif isinstance(module, nn.Linear) and not bias:
                module.bias.zero_()
    return model.eval()


def random_batch(
    seed: int,
    num_tracks: list[int],
    num_features: int = 5,
    *,
    keep_edges: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> Batch:
    """Jets of the given sizes with N(0, 2²) features; ``keep_edges < 1`` drops edges at random."""
    generator = torch.Generator().manual_seed(seed)
    jets = []
    for count in num_tracks:
        x = 2 * torch.randn(count, num_features, generator=generator, dtype=dtype)
        edge_index = fully_connected_edge_index(torch.tensor([count]))
        if keep_edges < 1:
            edge_index = edge_index[:, torch.rand(edge_index.shape[1], generator=generator) < keep_edges]
        jets.append(Data(x=x, edge_index=edge_index))
    return Batch.from_data_list(jets)


def load_zennit() -> types.SimpleNamespace:
    """zennit's ``core``, ``rules``, ``composites`` and ``canonizers`` modules, imported for real.

    zennit's package ``__init__`` imports its torchvision helpers, and torchvision has no build for the
    pinned CPU torch; so the package module is registered with the installed folder as ``__path__`` and
    its ``__init__`` is never run. The rule code under test is zennit's own.
    """
    spec = importlib.util.find_spec("zennit")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("HEPXAI_REQUIRE_ALL") == "1":
            pytest.fail("zennit is not installed (HEPXAI_REQUIRE_ALL=1): pip install --no-deps zennit==0.5.1")
        pytest.skip("zennit is not installed; pip install --no-deps zennit==0.5.1 to compare with it")
    if "zennit" not in sys.modules:
        package = types.ModuleType("zennit")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["zennit"] = package
    names = ("core", "rules", "composites", "canonizers")
    return types.SimpleNamespace(**{name: importlib.import_module(f"zennit.{name}") for name in names})


@pytest.fixture(scope="session")
def make_model():
    return random_model


@pytest.fixture(scope="session")
def make_batch():
    return random_batch


@pytest.fixture
def zennit() -> types.SimpleNamespace:
    return load_zennit()


@pytest.fixture(scope="session")
def cms_model(reference_dir: Path):
    """The original CMS checkpoint, in float64."""
    from hepxai.models import load_checkpoint

    return load_checkpoint(reference_dir / "hin_cms_state_dict.npz").double()


@pytest.fixture(scope="session")
def cms_jet(reference_dir: Path) -> Batch:
    """The shared real CMS jet: 67 tracks, 48 features (zero-valued and boolean ones among them)."""
    import numpy as np

    with np.load(reference_dir / "cms_jet_67tracks.npz") as archive:
        x, edge_index = torch.from_numpy(archive["x"]), torch.from_numpy(archive["edge_index"])
    return Batch(
        x=x, edge_index=edge_index, batch=torch.zeros(len(x), dtype=torch.long), ptr=torch.tensor([0, len(x)])
    )
