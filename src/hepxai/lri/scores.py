"""The per-point scores a finished LRI run stored, paired with the positive test samples they score.

A run's ``scores.pt`` (:data:`hepxai.lri.protocol.SCORES_FILE`) holds, for every point of the positive test
samples in test order, the method's ``score``, the ``truth`` and the ``sample`` index among those samples,
and for LRI-Gaussian the ``covariance`` Σ in the units of ``scale · position``. Figures read them here
rather than rerun a model, so a figure shows exactly what the table's numbers were computed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from hepxai.data.pointsets.store import load_pointset
from hepxai.errors import InputError
from hepxai.io.torch_files import load_torch
from hepxai.io.yaml_files import read_yaml
from hepxai.lri.protocol import RESULT_FILE, SCORES_FILE


@dataclass(frozen=True)
class RunScores:
    """The stored scores of one (dataset, backbone, method, seed) run.

    Attributes:
        folder: The run's folder.
        dataset: The dataset folder's name.
        dataset_kind: ``actstrack``, ``synmol`` or ``synthetic``.
        backbone: The model kind.
        method: The method (:data:`hepxai.lri.methods.METHODS`).
        seed: The run's seed.
        score: ``[points]`` importance, higher = more important.
        truth: ``[points]`` bool, the ground-truth points.
        sample: ``[points]`` index of the point's sample among the positive test samples.
        covariance: ``[points, 3, 3]`` LRI-Gaussian's Σ in scaled units (``None`` for other methods).
        scale: LRI-Gaussian's c: ``Σ / c²`` is the noise covariance in position units.
    """

    folder: Path
    dataset: str
    dataset_kind: str
    backbone: str
    method: str
    seed: int
    score: Tensor
    truth: Tensor
    sample: Tensor
    covariance: Tensor | None = None
    scale: float | None = None

    def points_of(self, index: int) -> Tensor:
        """``[points]`` bool, the points of positive test sample ``index``."""
        return self.sample == index

    def position_covariance(self, index: int) -> Tensor | None:
        """``[points, 3, 3]`` the noise covariance of sample ``index`` in the dataset's position units."""
        if self.covariance is None or self.scale is None:
            return None
        return self.covariance[self.points_of(index)] / self.scale**2


def read_run_scores(folder: str | Path) -> RunScores:
    """The scores of the finished run in ``folder``.

    Raises:
        InputError: no ``result.yaml`` or ``scores.pt``, or either lacks a field.
    """
    folder = Path(folder)
    result_path, scores_path = folder / RESULT_FILE, folder / SCORES_FILE
    for path in (result_path, scores_path):
        if not path.is_file():
            msg = f"{path}: missing (not a finished run with scores; run hepxai lri train first)"
            raise InputError(msg)
    result = read_yaml(result_path)
    for field in ("dataset", "dataset_kind", "backbone", "method", "seed"):
        if field not in result:
            msg = f"{result_path}: field {field!r} is missing"
            raise InputError(msg)
    stored = load_torch(scores_path, "scores file")
    for field in ("score", "truth", "sample"):
        if not isinstance(stored, dict) or not isinstance(stored.get(field), torch.Tensor):
            msg = f"{scores_path}: field {field!r} is missing"
            raise InputError(msg)
    covariance = stored.get("covariance")
    scale = None
    if covariance is not None:
        scale = read_yaml(folder / "method.yaml").get("scale")
        if scale is None:
            msg = f"{folder / 'method.yaml'}: field 'scale' is missing (needed for the covariance)"
            raise InputError(msg)
    return RunScores(
        folder=folder,
        dataset=str(result["dataset"]),
        dataset_kind=str(result["dataset_kind"]),
        backbone=str(result["backbone"]),
        method=str(result["method"]),
        seed=int(result["seed"]),
        score=stored["score"].double(),
        truth=stored["truth"].bool(),
        sample=stored["sample"].long(),
        covariance=None if covariance is None else covariance.double(),
        scale=None if scale is None else float(scale),
    )


def find_runs(runs: str | Path, dataset: str, seeds: Sequence[int]) -> list[RunScores]:
    """Every run of ``dataset`` under ``runs`` with stored scores, for the given seeds (sorted by folder).

    Raises:
        InputError: none found.
    """
    runs = Path(runs)
    folders = sorted(
        path.parent
        for seed in seeds
        for path in runs.glob(f"{dataset}/*/*/seed{seed}/{SCORES_FILE}")
        if (path.parent / RESULT_FILE).is_file()
    )
    if not folders:
        seeds_text = ", ".join(map(str, seeds))
        msg = (
            f"{runs}: no finished run of dataset {dataset!r} with {SCORES_FILE} for seed {seeds_text} "
            f"(expected {runs}/{dataset}/<backbone>/<method>/seed<S>/{SCORES_FILE})"
        )
        raise InputError(msg)
    return [read_run_scores(folder) for folder in folders]


def positive_test_samples(data: str | Path) -> list[Data]:
    """The positive samples of the ``test`` split of a dataset folder, in test order (as runs score them)."""
    graphs = load_pointset(data, "test").graphs
    return [graph for graph in graphs if int(graph.y.reshape(-1)[0]) == 1]


def check_match(scores: RunScores, samples: Sequence[Data], data: str | Path) -> None:
    """Refuse scores that were not computed on ``samples``: other sample count, point count or truth.

    Raises:
        InputError: naming the run's ``scores.pt`` and the dataset folder.
    """
    path = scores.folder / SCORES_FILE
    sizes = np.bincount(scores.sample.numpy(), minlength=len(samples)) if scores.sample.numel() else []
    expected = [graph.num_nodes for graph in samples]
    if len(sizes) != len(expected) or list(sizes) != expected:
        msg = (
            f"{path}: field 'sample' gives {len(sizes)} samples of {int(scores.sample.numel())} points, "
            f"the positive test samples of {data} are {len(expected)} of {sum(expected)} points "
            "(another dataset?)"
        )
        raise InputError(msg)
    truth = torch.cat([graph.node_truth.bool().reshape(-1) for graph in samples])
    if not torch.equal(scores.truth, truth):
        msg = f"{path}: field 'truth' differs from the node_truth of {data}/test.pt (another dataset?)"
        raise InputError(msg)
