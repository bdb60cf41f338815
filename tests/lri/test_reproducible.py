"""The same LRI training twice gives the same weights, bit for bit, with several threads too.

On the CPU the backward of ``tensor[index]`` is ``index_put_`` with accumulate, which (PyTorch's default,
non-deterministic mode) adds with atomics on several threads once it has 32,768 elements: the order of the
additions, and so the last bits of the gradient, changed from run to run. Training steps therefore gather
with ``index_select``, whose backward adds in index order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.data.pointsets.store import save_pointset
from hepxai.lri import LRIBernoulli, LRIGaussian, PointMask
from hepxai.models.registry import build_model
from hepxai.training import Objective

OBJECTIVES: dict[str, Callable] = {
    "erm": lambda model: Objective(),
    "lri_bernoulli": LRIBernoulli,
    "lri_gaussian": lambda model: LRIGaussian(model, scale=10.0),
    "lri_gaussian_unweighted": lambda model: LRIGaussian(model, scale=10.0, weighting="none"),
    "lri_gaussian_fixed_graph": lambda model: LRIGaussian(model, scale=10.0, weighting="none", rebuild=False),
    "pointmask": PointMask,
}


class AccumulatingIndexPuts(TorchDispatchMode):
    """Counts the calls of ``index_put`` with accumulate (the kernel that adds with atomics)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        accumulate = kwargs.get("accumulate", args[3] if len(args) > 3 else False)
        if name in ("index_put", "index_put_", "_index_put_impl_") and accumulate:
            self.calls.append(tuple(args[0].shape))
        return func(*args, **kwargs)


@pytest.mark.parametrize("backbone", ["dgcnn", "egnn", "point_transformer"])
@pytest.mark.parametrize("method", list(OBJECTIVES))
def test_a_training_step_never_adds_with_atomics(backbone: str, method: str, batch) -> None:
    torch.manual_seed(0)
    model = build_model(backbone, num_features=batch.x.shape[1], hidden=16, num_layers=2)
    objective = OBJECTIVES[method](model)
    with AccumulatingIndexPuts() as recorder:
        objective(model, batch, 1).mean().backward()
    assert recorder.calls == []  # each would be a gradient that may differ from run to run


def clouds(num: int, seed: int) -> list:
    """Clouds of 200 points: a batch of 32 then gathers more than 32,768 elements (PyTorch's grain size),
    what the kernels that run on several threads need; smaller tensors always run on one."""
    graphs = synthetic_point_clouds(num, seed=seed, points=(200, 200))
    for graph in graphs:
        del graph.edge_index, graph.edge_attr
    return graphs


def flat(value: object, key: str = "") -> dict[str, object]:
    """Every tensor and number of a checkpoint by its key path, the epochs' durations left out."""
    if isinstance(value, dict):
        items = [(f"{key}.{name}", item) for name, item in value.items() if name != "seconds"]
    elif isinstance(value, list | tuple):
        items = [(f"{key}[{number}]", item) for number, item in enumerate(value)]
    else:
        return {key: value}
    return {path: leaf for inner, item in items for path, leaf in flat(item, inner).items()}


def bit_identical(first: object, second: object) -> bool:
    if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor):
        return (first.dtype, first.shape) == (second.dtype, second.shape) and (
            first.numpy().tobytes() == second.numpy().tobytes()
        )
    return repr(first) == repr(second)


@pytest.mark.slow
def test_the_same_command_in_two_processes_trains_the_same_weights(tmp_path: Path) -> None:
    """``hepxai lri benchmark`` of LRI-Bernoulli and LRI-Gaussian (and its ERM warm start), twice at once,
    two threads each and other hash seeds: every checkpoint and score file equal bit for bit."""
    data = save_pointset(
        tmp_path / "clouds",
        "synthetic",
        {"train": clouds(64, 1), "valid": clouds(4, 2), "test": clouds(4, 3)},
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "2"}
    runs = [tmp_path / f"runs{number}" for number in (1, 2)]
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "hepxai", "-q", "lri", "benchmark", "--data", str(data)),
                *("--methods", "lri_bernoulli", "lri_gaussian", "--seeds", "0", "--epochs", "3"),
                *("--batch-size", "32", "--out", str(out), "--results", str(out / "lri.csv")),
            ],
            env={**environment, "PYTHONHASHSEED": str(number)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for number, out in enumerate(runs, 1)
    ]
    for process in processes:
        _, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors
    files = sorted(path.relative_to(runs[0]) for path in runs[0].rglob("*.pt"))
    assert {path.parts[-3] for path in files} == {"erm", "lri_bernoulli", "lri_gaussian"}
    assert files == sorted(path.relative_to(runs[1]) for path in runs[1].rglob("*.pt"))
    for name in files:
        first, second = (flat(torch.load(run / name, weights_only=False)) for run in runs)
        assert first.keys() == second.keys(), name
        differing = [key for key, value in first.items() if not bit_identical(value, second[key])]
        assert not differing, f"{name}: {differing[:5]}"
