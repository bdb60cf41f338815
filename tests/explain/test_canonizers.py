"""The registry of fast forms: models register them, explainers find them without naming a model kind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hepxai
from hepxai.explain import LRP
from hepxai.explain.canonizers import fast_lrp, register_fast_lrp
from hepxai.models import InteractionNetwork
from hepxai.models.dense_lrp import dense_lrp


def test_the_hin_registers_its_dense_lrp(make_model, make_batch):
    model = make_model(1)
    assert fast_lrp(model, make_batch(2, [3, 5])) is dense_lrp
    assert fast_lrp(model, make_batch(2, [4, 6], keep_edges=0.5)) is None  # not fully connected


def test_a_subclass_does_not_inherit_the_fast_form(make_model, make_batch):
    # A subclass may compute something else: it gets the generic path, with the same result here.
    class Subclass(InteractionNetwork):
        pass

    model = make_model(3)
    copy = Subclass(num_features=5, hidden=12).double().eval()
    copy.load_state_dict(model.state_dict())
    batch = make_batch(4, [3, 5])
    assert fast_lrp(copy, batch) is None
    torch.testing.assert_close(LRP(copy).explain(batch).node, LRP(model).explain(batch).node)


def test_a_second_function_for_a_class_is_refused():
    with pytest.raises(ValueError, match="already registered for InteractionNetwork"):
        register_fast_lrp(InteractionNetwork, lambda model, batch: True, lambda *args, **kwargs: None)


def test_a_freshly_loaded_checkpoint_finds_its_fast_form(reference_dir):
    # In a new interpreter that imports only the explainer and the checkpoint reader.
    code = (
        "import sys, numpy as np, torch\n"
        "from torch_geometric.data import Batch\n"
        "from hepxai.explain.lrp import LRP\n"
        "from hepxai.explain.canonizers import fast_lrp\n"
        "from hepxai.models.checkpoint import load_checkpoint\n"
        f"model = load_checkpoint({str(reference_dir / 'hin_cms_state_dict.npz')!r})\n"
        f"jet = np.load({str(reference_dir / 'cms_jet_67tracks.npz')!r})\n"
        "x = torch.from_numpy(jet['x']).float()\n"
        "batch = Batch(x=x, edge_index=torch.from_numpy(jet['edge_index']),\n"
        "              batch=torch.zeros(len(x), dtype=torch.long), ptr=torch.tensor([0, len(x)]))\n"
        "assert fast_lrp(model, batch) is not None\n"
        "print(float(LRP(model).explain(batch, target='QCD').logit))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(hepxai.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(3.513144, abs=1e-4)
