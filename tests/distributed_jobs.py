"""What the processes of tests/test_distributed.py run: a module of its own, importable by name in a
spawned process (``tests`` itself may name another installed package)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from hepxai import distributed
from hepxai.config import config_from_dict
from hepxai.data.jets import Jets
from hepxai.models.registry import build_model
from hepxai.training import Objective, _step_loss, train

SETTINGS = {"model": {"hidden": 8}, "train": {"batch_size": 32, "lr": 1e-3, "epochs": 2}}


def toy_jets(num_jets: int, *, seed: int = 0) -> Jets:
    """Jets of 2-6 tracks of 6 features; the label is the sign of the jet's mean of feature 0."""
    rng = np.random.default_rng(seed)
    num_tracks = rng.integers(2, 7, size=num_jets)
    features = rng.standard_normal((num_tracks.sum(), 6)).astype(np.float32)
    label = (np.bincount(np.repeat(np.arange(num_jets), num_tracks), features[:, 0]) > 0).astype(np.int64)
    return Jets(features, num_tracks, label, tuple(f"f{i}" for i in range(6)))


def one_step(jets: Jets, weight: torch.Tensor) -> dict[str, torch.Tensor]:
    """One training step of a float64 HIN as the loop takes it, on this process's part of ``jets``:
    the gradients, the BatchNorm buffers and the step loss."""
    world = distributed.world()
    torch.manual_seed(0)
    model = build_model("interaction_network", num_features=6, hidden=8).double()
    step = distributed.data_parallel(model, Objective())
    index = world.shard(np.arange(len(jets)))
    batch = jets.select(index).to_batch()
    batch.x = batch.x.double()
    loss, value = _step_loss(step(batch, 1), weight[index], world)
    loss.backward()
    return {
        **{f"grad.{name}": parameter.grad for name, parameter in model.named_parameters()},
        **{f"buffer.{name}": buffer for name, buffer in model.named_buffers()},
        "loss": torch.tensor(value),
    }


def resumed_and_uninterrupted(jets: Jets, folder: Path) -> None:
    """2 epochs at once into ``folder/full``; 1 epoch, then a resume to 2, into ``folder/resumed``."""
    config = config_from_dict(SETTINGS)
    train(jets, config, folder / "full", progress=False)
    one_epoch = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=1))
    train(jets, one_epoch, folder / "resumed", progress=False)
    train(jets, config, folder / "resumed", resume=True, progress=False)


def step_and_runs(jets: Jets, weight: torch.Tensor, run_jets: Jets, folder: Path) -> None:
    """Both jobs in one process group (starting processes is the slow part); each process saves its step."""
    torch.save(one_step(jets, weight), folder / f"step{distributed.world().rank}.pt")
    resumed_and_uninterrupted(run_jets, folder)
