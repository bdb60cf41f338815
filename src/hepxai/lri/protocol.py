"""The LRI protocol: train, select on validation prediction AUC, score the points of positive test samples.

Every (dataset, backbone, method, seed) run has its own folder, ``OUT/<dataset>/<backbone>/<method>/seed<s>``:
trained methods keep the training run there (``config.yaml``, ``last.pt``, ``best.pt``, whose ``objective``
holds the noise generator); every run ends by writing ``result.yaml``. A run whose ``result.yaml`` records
the same settings is skipped, an interrupted training resumes from ``last.pt``, and the post-hoc methods
explain the ERM run of the same dataset, backbone and seed (trained first if missing).

- **Training.** Adam (lr 1e-3), batches of 128, fixed epochs without early stopping, on the dataset's
  ``train`` split; the checkpoint kept is the epoch with the highest ``valid`` prediction AUC, among the
  epochs that trained the method (after its warm-up). Interpretation is never looked at before the test.
- **Warm-up.** A method whose authors train the backbone alone first (LRI-Gaussian: 200 of 300 epochs)
  starts from the ERM run of the same dataset, backbone and seed, which is that training, and trains the
  rest of the epochs with its noise: the same schedule without training the backbone twice.
- **Interpretation** on the positive test samples only: interpretation ROC AUC pooled over all their points
  and precision@k per sample (:mod:`hepxai.metrics.interpretation`, ties averaged), k from the dataset kind.
- **Prediction** ROC AUC on the whole test split, with the method's deterministic prediction.

The table over seeds is :mod:`hepxai.lri.table`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor
from torch_geometric.data import Batch
from tqdm.auto import tqdm

from hepxai.config import ModelConfig
from hepxai.data.graph_list import GraphList
from hepxai.data.pointsets.store import SPLITS, load_pointset, pointset_info
from hepxai.errors import InputError
from hepxai.evaluation import tagger_score
from hepxai.explain.base import point_scores
from hepxai.explain.forward import eval_mode
from hepxai.explain.gradients import GradGAM, GradGeo, GradientTimesInput
from hepxai.explain.lrp import LRP
from hepxai.explain.masks import BernMask, BernMaskP
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.lock import lock_folder
from hepxai.io.yaml_files import read_yaml
from hepxai.lri.bernoulli import LRIBernoulli
from hepxai.lri.gaussian import LRIGaussian
from hepxai.lri.geometry import with_graphs
from hepxai.lri.methods import (
    ABLATION_SCALE,
    POST_HOC,
    VARIANTS,
    DatasetKind,
    check_method,
    dataset_kind,
    method_settings,
)
from hepxai.lri.pointmask import PointMask
from hepxai.lri.run_config import PointSetData, PointSetRunConfig, PointSetTrain
from hepxai.metrics.classification import roc_auc
from hepxai.metrics.interpretation import interpretation_auc, precision_at_k
from hepxai.models.checkpoint import model_from_state, read_checkpoint
from hepxai.models.registry import GraphModel, build_model
from hepxai.training import Objective, predict_logits, train

log = logging.getLogger(__name__)

RESULT_FILE = "result.yaml"
SCORES_FILE = "scores.pt"
"""Per point of the positive test samples: ``score``, ``truth``, ``sample`` (index among them) and, for
LRI-Gaussian, ``covariance`` ``[points, 3, 3]`` (in scaled units): the input of ROC curves and displays."""
SCORE_BATCH = 128
PAPER_EPOCHS, ALPHA_INTERVAL = 300, 10
"""The authors' epochs on ActsTrack and SynMol, and their epochs between two steps of LRI-Bernoulli's α."""


@dataclass(frozen=True)
class RunSpec:
    """One run of the comparison.

    Attributes:
        data: The dataset folder (``dataset.yaml`` + splits).
        backbone: A registered model kind.
        method: One of :data:`hepxai.lri.methods.METHODS`.
        seed: Seeds the weights, the batch order and every noise.
        epochs: Training epochs of a trained method (warm-up included) and of the ERM model.
        top_k: The two k of precision@k; ``None``: the dataset kind's.
        scale: LRI-Gaussian's c on stored positions; ``None``: the dataset kind's.
        lr: Adam learning rate.
        batch_size: Graphs per training batch.
        mask_epochs: BernMask-P's epochs over the positive training samples (100 in the paper).
        mask_steps: BernMask's optimisation steps per sample (500 in the paper).
        recompute_batchnorm: Recompute the backbone's BatchNorm statistics over the training set after
            every epoch (:func:`hepxai.training.recompute_batchnorm`) instead of keeping running averages.
        test_data: Validate and test on this dataset folder's ``valid`` and ``test`` splits instead of
            ``data``'s (a distribution shift: train on 10 tracks, test on 40–70).
        valid_data: Validate on this dataset folder's ``valid`` split instead (the paper's Table 5:
            train on 10 tracks, select on 25, test on 40).
        beta: The weight of the objective's information term (LRI, PointMask) instead of the authors'
            setting; ``None``: theirs (:mod:`hepxai.lri.methods`).
        alpha: LRI-Bernoulli's final prior keep-probability α instead of the authors'; ``None``: theirs.
    """

    data: Path
    backbone: str
    method: str
    seed: int = 0
    epochs: int = 300
    top_k: tuple[int, int] | None = None
    scale: float | None = None
    lr: float = 1e-3
    batch_size: int = 128
    mask_epochs: int = 100
    mask_steps: int = 500
    recompute_batchnorm: bool = False
    test_data: Path | None = None
    beta: float | None = None
    alpha: float | None = None
    valid_data: Path | None = None

    def folder(self, out: Path) -> Path:
        """The run's folder under ``out``: the :func:`dataset_name`; the method's folder names the settings
        that replace the authors' (``lri_gaussian-beta0.1-c300``), so the runs of a tuning grid share the
        ERM run they start from."""
        name = dataset_name(self.data, self.test_data, self.valid_data)
        tag = "".join(f"-{key}{value:g}" for key, value in self.overrides().items())
        return Path(out) / name / self.backbone / f"{self.method}{tag}" / f"seed{self.seed}"

    def overrides(self) -> dict[str, float]:
        """The settings given in place of the authors' that apply to this method (by folder name)."""
        return overrides(self.method, beta=self.beta, alpha=self.alpha, scale=self.scale)

    def erm(self) -> RunSpec:
        """The ERM run this run starts from (a warm start) or explains (a post-hoc method)."""
        return replace(self, method="erm", scale=None, beta=None, alpha=None)

    def settings(self) -> dict[str, Any]:
        """What a finished run must match to be skipped."""
        record = asdict(self)
        record["data"] = str(Path(self.data).resolve())
        record["top_k"] = list(self.top_k) if self.top_k else None
        if not self.recompute_batchnorm:  # runs from before the option keep matching
            del record["recompute_batchnorm"]
        for optional in ("beta", "alpha", "test_data", "valid_data"):  # earlier runs keep matching
            if record[optional] is None:
                del record[optional]
        for folder in ("test_data", "valid_data"):
            if folder in record:
                record[folder] = str(Path(record[folder]).resolve())
        return record


def dataset_name(
    data: str | Path, test_data: str | Path | None = None, valid_data: str | Path | None = None
) -> str:
    """``<data>``, with a shift ``<data>-on-<test data>``, with another validation folder
    ``<data>-valid-<valid data>-on-<test data>``."""
    name = Path(data).resolve().name
    if valid_data is not None:
        name = f"{name}-valid-{Path(valid_data).resolve().name}"
    if test_data is not None:
        name = f"{name}-on-{Path(test_data).resolve().name}"
    return name


def overrides(
    method: str, *, beta: float | None, alpha: float | None, scale: float | None
) -> dict[str, float]:
    """Of β, α and c, those given (not ``None``) that ``method`` has, by their short names."""
    applies = {
        "beta": method.startswith(("lri_", "pointmask")),
        "alpha": method == "lri_bernoulli",
        "c": method.startswith("lri_gaussian"),
    }
    values = {"beta": beta, "alpha": alpha, "c": scale}
    return {key: value for key, value in values.items() if applies[key] and value is not None}


@dataclass(frozen=True)
class Dataset:
    """The three splits of a dataset folder, each graph with its k-nearest-neighbour graph."""

    name: str
    kind: str
    settings: DatasetKind
    splits: dict[str, GraphList]


def load_dataset(
    folder: str | Path, test_folder: str | Path | None = None, valid_folder: str | Path | None = None
) -> Dataset:
    """The splits of ``folder``; ``valid`` and ``test`` from ``test_folder`` when given, ``valid`` from
    ``valid_folder`` when given (folders of the same kind).

    Raises:
        InputError: not a point-set folder, of a kind without ground truth, an empty or missing split, or a
            test split whose positives carry no ``node_truth``.
    """
    folder = Path(folder)
    info = pointset_info(folder)
    settings = dataset_kind(info["kind"], str(folder / "dataset.yaml"))
    sources = dict.fromkeys(SPLITS, folder)  # each split read once, from the folder it comes from
    if test_folder is not None:
        sources.update(valid=Path(test_folder), test=Path(test_folder))
    if valid_folder is not None:
        sources["valid"] = Path(valid_folder)
    for shifted in set(sources.values()) - {folder}:
        kind = pointset_info(shifted)["kind"]
        if kind != info["kind"]:
            expected = f"not {info['kind']!r} as {folder / 'dataset.yaml'}"
            msg = f"{shifted / 'dataset.yaml'}: field 'kind' is {kind!r}, {expected}"
            raise InputError(msg)
    splits = {
        name: GraphList.of(
            with_graphs(
                load_pointset(source, name).graphs,
                radius=settings.radius,
                unit_directions=settings.unit_directions,
            )
        )
        for name, source in sources.items()
    }
    for graph in splits["test"].graphs:
        if getattr(graph, "node_truth", None) is None:
            msg = f"{sources['test'] / 'test.pt'}: field 'node_truth' is missing (the per-point ground truth)"
            raise InputError(msg)
    return Dataset(dataset_name(folder, test_folder, valid_folder), info["kind"], settings, splits)


def run(spec: RunSpec, out: str | Path, *, dataset: Dataset | None = None, progress: bool = True) -> dict:
    """Train (or resume) and score one run; returns its result (also in ``result.yaml``).

    A run whose ``result.yaml`` records the same settings is not run again.
    """
    check_method(spec.method)
    folder = spec.folder(Path(out))
    with lock_folder(folder):  # a second run of the same spec stops at once; other runs go on
        return _run(spec, out, folder, dataset, progress)


def _run(spec: RunSpec, out: str | Path, folder: Path, dataset: Dataset | None, progress: bool) -> dict:
    finished = _finished(folder, spec)
    if finished is not None:
        log.info("%s: finished, skipped", folder)
        return finished
    dataset = dataset or load_dataset(spec.data, spec.test_data, spec.valid_data)
    start = time.perf_counter()
    if spec.method in POST_HOC:
        erm = run(spec.erm(), out, dataset=dataset, progress=progress)
        model, objective = load_run(spec.erm().folder(Path(out)), spec)
        best = {"best_epoch": erm["best_epoch"], "val_auc": erm["val_auc"]}
    else:
        model, objective, best = _train(spec, dataset, Path(out), progress)
    result = _score(spec, dataset, model, objective, folder, progress)
    result.update(best, seconds=round(time.perf_counter() - start, 1))
    _write_yaml(folder / RESULT_FILE, {"settings": spec.settings(), **result})
    log.info(
        "%s %s %s seed %d: interp AUC %s, prediction AUC %.4f",
        dataset.name,
        spec.backbone,
        spec.method,
        spec.seed,
        "—" if result["interp_auc"] is None else f"{result['interp_auc']:.4f}",
        result["pred_auc"],
    )
    return result


def run_grid(
    data: Sequence[str | Path],
    backbones: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    *,
    progress: bool = True,
    **options: Any,
) -> list[dict]:
    """Every (dataset, backbone, method, seed); finished runs are read, not rerun."""
    for method in methods:
        check_method(method)
    specs = [
        RunSpec(Path(folder), backbone, method, seed, **options)
        for folder in data
        for backbone in backbones
        for seed in seeds
        for method in methods
    ]
    return run_specs(specs, out, progress=progress)


def run_specs(
    specs: Sequence[RunSpec], out: str | Path, *, progress: bool = True, desc: str = "lri runs"
) -> list[dict]:
    """Each run in turn, every dataset read once and only when a run needs it (finished runs are read)."""
    results = []
    datasets: dict[tuple[Path, Path | None, Path | None], Dataset] = {}
    for spec in tqdm(specs, desc=desc, unit="run", disable=not progress):
        key = (spec.data, spec.test_data, spec.valid_data)
        if key not in datasets and _finished(spec.folder(Path(out)), spec) is None:
            datasets[key] = load_dataset(*key)
        results.append(run(spec, out, dataset=datasets.get(key), progress=progress))
    return results


def load_run(folder: Path, spec: RunSpec) -> tuple[GraphModel, Objective]:
    """The model and objective (noise generator included) of a trained run's ``best.pt``, in eval mode.

    Raises:
        InputError: no checkpoint, or a checkpoint of another backbone than ``spec.backbone``.
    """
    path = folder / "best.pt"
    content = read_checkpoint(path)
    kind = content.get("kind")
    if kind != spec.backbone:
        msg = f"{path}: a checkpoint of backbone {kind!r}, expected {spec.backbone!r}"
        raise InputError(msg)
    model = model_from_state(content, path)
    method = "erm" if spec.method in POST_HOC else spec.method
    objective = _objective(method, model, _settings_of(folder), spec.seed)
    objective.load_state_dict(content.get("objective", {}))
    return model.eval(), objective.eval()


def _settings_of(folder: Path) -> dict[str, Any]:
    path = folder / "method.yaml"
    return _objective_options(read_yaml(path) if path.is_file() else {})


def _objective_options(options: dict[str, Any]) -> dict[str, Any]:
    """``method.yaml``'s options without the record of the warm start, which the objective does not take."""
    return {key: value for key, value in options.items() if key != "warm_start"}


def _objective(method: str, model: GraphModel, options: dict[str, Any], seed: int) -> Objective:
    if method == "erm":
        return Objective()
    if method == "lri_bernoulli":
        return LRIBernoulli(model, seed=seed, **options)
    if method.startswith("lri_gaussian"):
        return LRIGaussian(model, seed=seed, **options)
    return PointMask(model, seed=seed, **options)


def _method_options(spec: RunSpec, dataset: Dataset) -> tuple[dict[str, Any], int]:
    """The objective's options and its warm-up epochs."""
    settings = method_settings(dataset.kind, spec.method, spec.backbone)
    if spec.beta is not None and "beta" in settings:
        settings["beta"] = spec.beta
    if spec.alpha is not None and "final_alpha" in settings:
        settings["final_alpha"] = spec.alpha
    warmup = round(settings.pop("warmup", 0.0) * spec.epochs)
    if spec.method == "lri_bernoulli":
        # α steps every 10 of the authors' 300 epochs: the same share of a shorter run.
        interval = max(1, round(ALPHA_INTERVAL * spec.epochs / PAPER_EPOCHS))
        return {**settings, "warmup": warmup, "alpha_interval": interval}, warmup
    if spec.method.startswith("lri_gaussian"):
        scale = (spec.scale or dataset.settings.scale) * settings.pop("scale_factor", 1.0)
        weighting = "learned" if spec.method == "lri_gaussian" else "none"
        options = {**settings, "scale": scale, "k": dataset.settings.rebuilt_k, "weighting": weighting}
        if dataset.settings.rebuilt_radius is not None:
            options["radius"] = dataset.settings.rebuilt_radius
        if spec.method == "lri_gaussian_fixed_graph":
            options.update(scale=spec.scale or ABLATION_SCALE.get(dataset.kind, scale), rebuild=False)
        plane = {"plane": True} if dataset.settings.plane else {}
        return {**options, **_unit_directions(dataset), **plane, "warmup": warmup}, warmup
    if spec.method == "pointmask":
        radius = {"radius": dataset.settings.radius} if dataset.settings.radius is not None else {}
        return {**settings, **_unit_directions(dataset), **radius}, 0
    return {}, 0


def _unit_directions(dataset: Dataset) -> dict[str, bool]:
    """The option of graphs on hit directions, only where the dataset kind asks for it (so runs of the
    other kinds keep their recorded options)."""
    return {"unit_directions": True} if dataset.settings.unit_directions else {}


def _train(
    spec: RunSpec, dataset: Dataset, out: Path, progress: bool
) -> tuple[GraphModel, Objective, dict[str, Any]]:
    folder = spec.folder(out)
    options, warmup = _method_options(spec, dataset)
    if warmup >= spec.epochs:
        msg = f"{spec.method}: {spec.epochs} epochs leave none after the warm-up of {warmup}; use more epochs"
        raise InputError(msg)
    train_data, valid = dataset.splits["train"], dataset.splits["valid"]
    if warmup:
        erm = spec.erm()
        run(erm, out, dataset=dataset, progress=progress)
        model, _ = load_run(erm.folder(out), erm)
        options = {**options, "warmup": 0, "warm_start": "erm"}
        torch.manual_seed(spec.seed)  # the generator's weights: the same whether ERM ran just now or not
    else:
        torch.manual_seed(spec.seed)
        model = build_model(spec.backbone, num_features=train_data.num_features, **_unit_directions(dataset))
    objective = _objective(spec.method, model, _objective_options(options), spec.seed)
    _write_yaml(folder / "method.yaml", options)
    config = PointSetRunConfig(
        data=PointSetData(files=(str(Path(spec.data).resolve()),)),
        model=ModelConfig(kind=spec.backbone, hidden=getattr(model, "hidden", 64)),
        train=PointSetTrain(
            epochs=spec.epochs - warmup,
            lr=spec.lr,
            batch_size=spec.batch_size,
            seed=spec.seed,
            recompute_batchnorm=spec.recompute_batchnorm,
        ),
    )
    resume = (folder / "last.pt").is_file()
    if resume:
        done = len(read_checkpoint(folder / "last.pt").get("history", []))
        if done > spec.epochs - warmup:
            msg = f"{folder / 'last.pt'}: trained {done} epochs, more than --epochs {spec.epochs} allows"
            raise InputError(msg)
        log.info("%s: resuming after epoch %d", folder, done)
    result = train(
        train_data,
        config,
        folder,
        model=model,
        objective=objective,
        resume=resume,
        validation=valid,
        progress=progress,
    )
    model, objective = load_run(folder, spec)
    best = {"best_epoch": result.best_epoch, "val_auc": result.history[result.best_epoch - 1].val_auc}
    return model, objective, best


def _score(
    spec: RunSpec, dataset: Dataset, model: GraphModel, objective: Objective, folder: Path, progress: bool
) -> dict[str, Any]:
    test = dataset.splits["test"]
    k1, k2 = spec.top_k or dataset.settings.top_k
    logits = predict_logits(model, objective, test)
    _, warmup = _method_options(spec, dataset)
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "dataset_kind": dataset.kind,
        "backbone": spec.backbone,
        "method": spec.method,
        "variant": VARIANTS.get(spec.method, ""),
        "seed": spec.seed,
        "epochs": spec.epochs,
        "warmup_epochs": warmup,
        "k1": k1,
        "k2": k2,
        "pred_auc": roc_auc(tagger_score(logits), test.label),
        "interp_auc": None,
        "prec_at_k1": None,
        "prec_at_k2": None,
    }
    if spec.method == "erm":
        return result
    positives = test.select(test.label == 1)
    if len(positives) == 0:
        msg = f"{Path(spec.data) / 'test.pt'}: no positive sample to score the interpretation on"
        raise InputError(msg)
    score_of = _scorer(spec, dataset, model, objective, folder)
    scores, truth, graph = [], [], []
    for number, batch in enumerate(
        tqdm(
            _batches(positives),
            total=-(-len(positives) // SCORE_BATCH),
            desc=f"scoring {spec.method}",
            unit="batch",
            leave=False,
            disable=not progress,
        )
    ):
        scores.append(score_of(batch).detach().double().reshape(-1))
        truth.append(batch.node_truth.bool())
        graph.append(batch.batch + number * SCORE_BATCH)
    score, truth_all, graph_all = torch.cat(scores), torch.cat(truth), torch.cat(graph)
    folder.mkdir(parents=True, exist_ok=True)
    saved = {"score": score, "truth": truth_all, "sample": graph_all}
    with atomic_path(folder / SCORES_FILE) as temporary:
        torch.save({**saved, **_covariances(objective, model, positives)}, temporary)
    result.update(
        interp_auc=interpretation_auc(score, truth_all),
        prec_at_k1=precision_at_k(score, truth_all, graph_all, k1),
        prec_at_k2=precision_at_k(score, truth_all, graph_all, k2),
        positives=len(positives),
        points=int(truth_all.numel()),
        true_points=int(truth_all.sum()),
    )
    return result


def _scorer(
    spec: RunSpec, dataset: Dataset, model: GraphModel, objective: Objective, folder: Path
) -> Callable[[Batch], Tensor]:
    """Per-point importance of a batch, higher = more important, for ``spec.method``."""
    method = spec.method
    if hasattr(objective, "scores"):

        def trained(batch: Batch) -> Tensor:
            with torch.no_grad(), eval_mode(model), eval_mode(objective):
                return objective.scores(model, batch)

        return trained
    if method in ("gradgeo", "gradgam"):
        explainer = (GradGeo if method == "gradgeo" else GradGAM)(model)
        return lambda batch: explainer.explain(batch).node[:, 0]
    if method in ("lrp_epsilon", "gradient_x_input"):
        explainer = LRP(model, edges=False) if method == "lrp_epsilon" else GradientTimesInput(model)
        return lambda batch: point_scores(explainer.explain(batch), batch.edge_index)
    settings = method_settings(dataset.kind, method, spec.backbone)
    if method == "bernmask":
        masks = BernMask(model, steps=spec.mask_steps, seed=spec.seed, **settings)
        return lambda batch: masks.explain(batch).node[:, 0]
    generator = BernMaskP(model, epochs=spec.mask_epochs, seed=spec.seed, **settings)
    train_data = dataset.splits["train"]
    generator.fit(list(_batches(train_data.select(train_data.label == 1))))
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "generator.pt") as temporary:
        torch.save(generator.generator.state_dict(), temporary)
    return lambda batch: generator.explain(batch).node[:, 0]


def _covariances(objective: Objective, model: GraphModel, positives: GraphList) -> dict[str, Tensor]:
    if not isinstance(objective, LRIGaussian):
        return {}
    with torch.no_grad(), eval_mode(model), eval_mode(objective):
        parts = [objective.covariance(model, batch)[0] for batch in _batches(positives)]
    return {"covariance": torch.cat(parts)}


def _batches(graphs: GraphList) -> Iterator[Batch]:
    for start in range(0, len(graphs), SCORE_BATCH):
        yield graphs.select(np.arange(start, min(start + SCORE_BATCH, len(graphs)))).to_batch()


def _finished(folder: Path, spec: RunSpec) -> dict | None:
    path = folder / RESULT_FILE
    if not path.is_file():
        return None
    record = read_yaml(path)
    if record.pop("settings", None) != spec.settings():
        return None
    return record


def _write_yaml(path: Path, content: dict) -> None:
    write_text(path, yaml.safe_dump(_plain(content), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
