"""The figures of the LRI comparison, from the scores that finished runs stored.

For each dataset folder and backbone with runs under ``RUNS/<dataset>/<backbone>/<method>/seed<S>``:

- ``roc.png``: the interpretation ROC curve of every method, over the points of the positive test samples
  (pooled over the seeds asked for), its AUC in the legend; the LRI methods and the baselines in two panels,
  curves that are exactly equal drawn once with their labels joined;
- point clouds (ActsTrack, synthetic): ``display_<method>_sample<i>.png``, the first positive test samples'
  points coloured by the method's importance, the true points ringed, LRI-Gaussian's Σ as 1σ ellipses (of
  the first seed asked for): ActsTrack's hits in a tracker's views (x-y, zoomed, r-z), the synthetic
  clouds, which no detector made, in their coordinate planes (x-y, x-z, y-z);
- SynMol: ``molecule_<method>_sample<i>.png`` (RDKit) and ``molecules.png``, a grid of the first positive
  test molecules (rows) by method (columns).

Importance is drawn as each point's rank within its sample, scaled to [0, 1] (1 = the method's top point,
ties share their mean rank): the methods' scores live on unrelated scales (probabilities, −log det Σ,
gradient norms), while the interpretation AUC and precision@k only see the ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.data.pointsets.actstrack import LENGTH_UNIT_MM
from hepxai.data.pointsets.store import DATASET_FILE, pointset_info
from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.lri.methods import METHODS, check_method, dataset_kind
from hepxai.lri.protocol import RESULT_FILE
from hepxai.lri.scores import RunScores, check_match, find_runs, positive_test_samples
from hepxai.metrics.interpretation import interpretation_roc
from hepxai.plots.hit_display import hit_display
from hepxai.plots.interpretation_roc import interpretation_roc_figure
from hepxai.plots.molecule import molecule_grid, molecule_highlight, molecule_png
from hepxai.plots.style import FIGURE_DPI, save_figure

log = logging.getLogger(__name__)

METHOD_LABELS = {
    "erm": "ERM",
    "lri_bernoulli": "LRI-Bernoulli",
    "lri_gaussian": "LRI-Gaussian",
    "lri_gaussian_unweighted": "LRI-Gaussian (no weights)",
    "lri_gaussian_fixed_graph": "LRI-Gaussian (graph not rebuilt)",
    "pointmask": "PointMask",
    "gradgeo": "GradGeo",
    "gradgam": "GradGAM",
    "bernmask": "BernMask",
    "bernmask_p": "BernMask-P",
    "lrp_epsilon": "LRP-ε",
    "gradient_x_input": "gradient × input",
}
LRI_METHODS = ("lri_bernoulli", "lri_gaussian", "lri_gaussian_unweighted", "lri_gaussian_fixed_graph")
OKABE_ITO = {
    "orange": "#e69f00",
    "sky blue": "#56b4e9",
    "bluish green": "#009e73",
    "blue": "#0072b2",
    "vermillion": "#d55e00",
    "reddish purple": "#cc79a7",
    "black": "#000000",
}
"""Okabe & Ito's colour-blind-safe colours (their yellow left out: too pale on white)."""
METHOD_COLORS = {
    "lri_gaussian": OKABE_ITO["vermillion"],
    "lri_gaussian_unweighted": OKABE_ITO["orange"],
    "lri_gaussian_fixed_graph": OKABE_ITO["reddish purple"],
    "lri_bernoulli": OKABE_ITO["blue"],
    "pointmask": OKABE_ITO["bluish green"],
    "gradgeo": OKABE_ITO["black"],
    "gradgam": OKABE_ITO["sky blue"],
    "bernmask": OKABE_ITO["blue"],
    "bernmask_p": OKABE_ITO["orange"],
    "lrp_epsilon": OKABE_ITO["reddish purple"],
    "gradient_x_input": OKABE_ITO["vermillion"],
}
"""One colour per scored method, the same in every figure: distinct within the LRI methods and within the
baselines, which are drawn in separate panels and, where a colour repeats, with another line style."""
METHOD_LINESTYLES = {method: "-" if method in LRI_METHODS else "--" for method in METHOD_COLORS} | {
    "gradient_x_input": "-.",  # often close to LRP-ε: told apart by its line where they are not identical
}
IMPORTANCE_LABEL = "importance: rank within the sample (1 = top)"
POSITION_UNITS = {
    "actstrack": (LENGTH_UNIT_MM, "mm", "hit", "tracker"),
    "synthetic": (1.0, "", "point", "cloud"),
}
"""Dataset kinds drawn as point displays: factor from stored positions to the plotted unit, the unit, what
a point is called, and the views (:func:`~hepxai.plots.hit_display.hit_display`'s ``geometry``: a
tracker's for detector hits, the coordinate planes for a cloud no detector made)."""


@dataclass(frozen=True)
class DatasetRuns:
    """One dataset folder, its positive test samples and the runs that scored them."""

    folder: Path
    name: str
    kind: str
    samples: list[Data]
    runs: list[RunScores]


def load_dataset_runs(
    runs: str | Path, data: str | Path, seeds: Sequence[int], methods: Sequence[str] | None = None
) -> DatasetRuns:
    """The runs of the dataset folder ``data`` under ``runs``, checked against its positive test samples.

    Raises:
        InputError: ``data`` is not a point-set folder with ground truth, no run has scores, or a run
            was made on another dataset (other kind, sample count, point count or truth).
    """
    data = Path(data)
    info = pointset_info(data)
    kind = str(info["kind"])
    dataset_kind(kind, str(data / DATASET_FILE))
    name = data.resolve().name
    found = find_runs(runs, name, seeds)
    if methods is not None:
        for method in methods:
            check_method(method)
        found = [run for run in found if run.method in methods]
        if not found:
            msg = f"{runs}: no run of dataset {name!r} with scores for method {', '.join(methods)}"
            raise InputError(msg)
    samples = positive_test_samples(data)
    for run in found:
        if run.dataset_kind != kind:
            msg = (
                f"{run.folder / RESULT_FILE}: field 'dataset_kind' is {run.dataset_kind!r}, "
                f"but {data / DATASET_FILE} has kind {kind!r}"
            )
            raise InputError(msg)
        check_match(run, samples, data)
    return DatasetRuns(data, name, kind, samples, found)


def write_figures(
    runs: str | Path,
    data: Sequence[str | Path],
    out: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    samples: int = 3,
    methods: Sequence[str] | None = None,
    dpi: int = FIGURE_DPI,
    progress: bool = True,
) -> list[Path]:
    """Every figure of the runs of each dataset folder, in ``out/<dataset>/<backbone>/``; returns the paths.

    Args:
        runs: The folder of all runs (``hepxai lri benchmark --out``).
        data: Dataset folders; runs are found under ``runs/<folder name>``.
        out: Figure folder.
        seeds: The ROC curves pool these seeds; displays and molecules show the first with runs.
        samples: How many positive test samples (the first ones, in test order) to draw.
        methods: Only these methods (default: every method with scores).
        dpi: Resolution of the matplotlib figures (the RDKit depictions have a fixed size in pixels).
        progress: Show a progress bar.
    """
    written: list[Path] = []
    for folder in data:
        dataset = load_dataset_runs(runs, folder, seeds, methods)
        for backbone in dict.fromkeys(run.backbone for run in dataset.runs):
            chosen = [run for run in dataset.runs if run.backbone == backbone]
            target = Path(out) / dataset.name / backbone
            written += _roc(dataset, backbone, chosen, target, dpi)
            first_seed = next(seed for seed in seeds if any(run.seed == seed for run in chosen))
            shown = [run for run in _in_method_order(chosen) if run.seed == first_seed]
            count = min(samples, len(dataset.samples))
            if dataset.kind in POSITION_UNITS:
                written += _displays(dataset, backbone, shown, count, target, dpi, progress)
            elif dataset.kind == "synmol":
                written += _molecules(dataset, backbone, shown, count, target, dpi, progress)
    for path in written:
        log.info("wrote %s", path)
    return written


def within_sample_importance(score: Tensor, sample: Tensor) -> np.ndarray:
    """``[points]`` each point's rank within its sample scaled to [0, 1]: 1 for the top, 0 for the last.

    Ties share their mean rank; a sample of one point gets 1.
    """
    score_array, sample_array = score.double().numpy(), sample.numpy()
    importance = np.ones(len(score_array))
    for index in np.unique(sample_array):
        points = sample_array == index
        if points.sum() > 1:
            importance[points] = (rankdata(score_array[points]) - 1) / (points.sum() - 1)
    return importance


def _in_method_order(chosen: list[RunScores]) -> list[RunScores]:
    return sorted(chosen, key=lambda run: (METHODS.index(run.method), run.seed))


def _roc(
    dataset: DatasetRuns,
    backbone: str,
    chosen: list[RunScores],
    target: Path,
    dpi: int,
) -> list[Path]:
    """The ROC curves; a method that lacks some of the figure's seeds names its own in the legend."""
    seeds_used = sorted({run.seed for run in chosen})
    curves, labels = {}, {}
    methods = list(dict.fromkeys(run.method for run in _in_method_order(chosen)))
    for method in methods:
        of_method = [run for run in chosen if run.method == method]
        score = torch.cat([run.score for run in of_method])
        truth = torch.cat([run.truth for run in of_method])
        own_seeds = [run.seed for run in of_method]
        label = METHOD_LABELS[method]
        if own_seeds != seeds_used:
            label += f" (seed{'s' if len(own_seeds) > 1 else ''} {', '.join(map(str, own_seeds))})"
        labels[method] = label
        curves[label] = interpretation_roc(score, truth)
    pooled = "seed" if len(seeds_used) == 1 else "seeds pooled:"
    title = (
        f"{dataset.name}, {backbone}: {len(dataset.samples)} positive test samples, "
        f"{pooled} {', '.join(map(str, seeds_used))}"
    )
    figure = interpretation_roc_figure(
        curves,
        title=title,
        colors={labels[method]: METHOD_COLORS[method] for method in methods},
        linestyles={labels[method]: METHOD_LINESTYLES[method] for method in methods},
        emphasised=[labels[method] for method in methods if method in LRI_METHODS],
        panels=[
            ("LRI", [labels[method] for method in methods if method in LRI_METHODS]),
            ("baselines", [labels[method] for method in methods if method not in LRI_METHODS]),
        ],
    )
    return save_figure(figure, target / "roc", ("png",), dpi=dpi)


def _displays(
    dataset: DatasetRuns,
    backbone: str,
    shown: list[RunScores],
    count: int,
    target: Path,
    dpi: int,
    progress: bool,
) -> list[Path]:
    factor, unit, point_name, geometry = POSITION_UNITS[dataset.kind]
    written = []
    jobs = [(run, index) for run in shown for index in range(count)]
    for run, index in tqdm(
        jobs, desc=f"{dataset.name} {backbone} displays", unit="figure", disable=not progress
    ):
        points = run.points_of(index)
        importance = within_sample_importance(run.score[points], run.sample[points])
        covariance = run.position_covariance(index)
        truth = run.truth[points].numpy()
        figure = hit_display(
            dataset.samples[index].pos.double().numpy() * factor,
            importance,
            truth,
            covariance=None if covariance is None else covariance.numpy() * factor**2,
            unit=unit,
            point_name=point_name,
            geometry=geometry,
            title=(
                f"{dataset.name}, {backbone}, {METHOD_LABELS[run.method]} (seed {run.seed}): positive test "
                f"sample {index}, {int(truth.sum())} of {len(truth)} {point_name}s true"
            ),
            importance_label=IMPORTANCE_LABEL,
        )
        written += save_figure(figure, target / f"display_{run.method}_sample{index}", ("png",), dpi=dpi)
    return written


def _molecules(
    dataset: DatasetRuns,
    backbone: str,
    shown: list[RunScores],
    count: int,
    target: Path,
    dpi: int,
    progress: bool,
) -> list[Path]:
    written, grid = [], [[] for _ in range(count)]
    jobs = [(run, index) for run in shown for index in range(count)]
    for run, index in tqdm(
        jobs, desc=f"{dataset.name} {backbone} molecules", unit="figure", disable=not progress
    ):
        points = run.points_of(index)
        highlight = molecule_highlight(
            dataset.samples[index],
            within_sample_importance(run.score[points], run.sample[points]),
            run.truth[points].numpy(),
            legend=f"{METHOD_LABELS[run.method]}, sample {index}",
            source=f"{dataset.folder / 'test.pt'} positive sample {index}",
        )
        png = molecule_png(highlight)
        path = target / f"molecule_{run.method}_sample{index}.png"
        with atomic_path(path) as temporary:
            temporary.write_bytes(png)
        written.append(path)
        grid[index].append(molecule_png(replace(highlight, legend="")))
    figure = molecule_grid(
        grid,
        row_labels=[f"sample {index}" for index in range(count)],
        column_labels=[METHOD_LABELS[run.method] for run in shown],
        title=f"{dataset.name}, {backbone}, seed {shown[0].seed}: first {count} positive test molecules",
        importance_label=IMPORTANCE_LABEL,
    )
    return [*written, *save_figure(figure, target / "molecules", ("png",), dpi=dpi)]
