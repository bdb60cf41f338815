"""Data-parallel training: two processes on the halves of a minibatch are one process on all of it.

The processes are real (spawned, gloo), started once for the module: they take the step and the runs of
``distributed_jobs`` and leave their results in files that the tests compare.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hepxai import distributed
from hepxai.config import config_from_dict
from hepxai.errors import InputError
from hepxai.models.checkpoint import read_checkpoint
from hepxai.models.registry import build_model
from hepxai.models.sync_batchnorm import SyncBatchNorm1d, convert_batchnorm
from hepxai.training import train

sys.path.insert(0, str(Path(__file__).parent))  # spawned processes import the jobs by this module name
from distributed_jobs import SETTINGS, one_step, step_and_runs, toy_jets

STEP_JETS = toy_jets(9)  # parts of 5 and 4 jets: different sizes and track counts
STEP_WEIGHT = torch.linspace(0.5, 2.0, 9, dtype=torch.float64)  # and different weight sums
RUN_JETS = toy_jets(120)


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Path:
    """The folder where two spawned processes left their step and their runs."""
    folder = tmp_path_factory.mktemp("group")
    distributed.launch(step_and_runs, STEP_JETS, STEP_WEIGHT, RUN_JETS, folder, nproc=2)
    return folder


@pytest.mark.slow  # starting two processes that import torch takes 10-60 s on the shared 2-core machine
def test_two_processes_on_halves_equal_one_process_on_the_batch(group):
    expected = one_step(STEP_JETS, STEP_WEIGHT)
    assert "buffer.edge_mlp.1.running_var" in expected
    for rank in range(2):
        got = torch.load(group / f"step{rank}.pt")
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            torch.testing.assert_close(got[key], value, rtol=1e-10, atol=1e-12, msg=key)


def test_a_process_on_half_the_batch_alone_differs():
    """The check above can fail: without synchronisation half the batch has other statistics and gradients."""
    whole = one_step(STEP_JETS, torch.ones(9, dtype=torch.float64))
    half = one_step(STEP_JETS.select(np.arange(5)), torch.ones(5, dtype=torch.float64))
    assert not torch.allclose(half["buffer.bn.running_mean"], whole["buffer.bn.running_mean"])
    assert not torch.allclose(half["grad.edge_mlp.0.weight"], whole["grad.edge_mlp.0.weight"])


@pytest.mark.slow
def test_two_process_run_resumes_exactly_and_trains_as_one_process(group, tmp_path):
    full, resumed = (read_checkpoint(group / name / "last.pt") for name in ("full", "resumed"))
    assert resumed["processes"] == 2
    assert len(resumed["torch_rng_states"]) == 2
    history = [{**record, "seconds": 0} for record in full["history"]]
    assert [{**record, "seconds": 0} for record in resumed["history"]] == history
    for key, value in full["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    single = train(RUN_JETS, config_from_dict(SETTINGS), tmp_path, progress=False)
    # The same training as one process, up to float32 rounding, which Adam's first steps lift (they
    # divide by the gradient's own size): 3e-5 relative after two epochs; a wrong weighting of the parts
    # or unsynchronised statistics move it by 1e-2 and more.
    np.testing.assert_allclose(
        [record["val_loss"] for record in history], [record.val_loss for record in single.history], rtol=1e-4
    )


@pytest.mark.slow
def test_a_two_process_run_resumes_on_two_processes_only(group):
    with pytest.raises(InputError, match=r"trained on 2 process\(es\), cannot resume it on 1 \(--nproc 2\)"):
        train(
            RUN_JETS,
            config_from_dict({**SETTINGS, "train": {**SETTINGS["train"], "epochs": 3}}),
            group / "full",
            resume=True,
            progress=False,
        )


def test_conversion_keeps_parameters_buffers_and_state_dict_keys():
    model = build_model("interaction_network", num_features=6, hidden=8)
    keys, parameters = list(model.state_dict()), list(model.parameters())
    convert_batchnorm(model)
    assert isinstance(model.bn, SyncBatchNorm1d)
    assert isinstance(model.edge_mlp[1], SyncBatchNorm1d)
    assert list(model.state_dict()) == keys
    assert all(a is b for a, b in zip(model.parameters(), parameters, strict=True))
    torch.manual_seed(0)
    plain = build_model("interaction_network", num_features=6, hidden=8)
    plain.load_state_dict(model.state_dict())
    batch = toy_jets(4).to_batch()  # without a process group it is the plain BatchNorm
    torch.testing.assert_close(model(batch), plain(batch), rtol=0, atol=0)
