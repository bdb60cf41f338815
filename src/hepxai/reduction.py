"""Relevance-guided feature reduction: retrain the tagger on its top-k features under three rankings.

For every seed: train the tagger on all features (``OUT/seed<S>/all``), rank the distinct features on its
validation jets (:mod:`hepxai.feature_ranking`: LRP-ε relevance, permutation importance, random; stored in
``OUT/seed<S>/rankings.csv``), then retrain it from scratch on the top k of each ranking
(``OUT/seed<S>/<ranking>/k<K>``) with the same jets, split, seed and budget. Every model is scored on the
same test jets, read inside the training selection: ROC AUC and background rejection at 50% signal
efficiency, each with a bootstrap interval over the test jets.

Every run is a :func:`hepxai.training.train` run folder (``config.yaml`` with ``data.features``, ``last.pt``,
``best.pt``) plus ``result.yaml`` once scored: a finished run is skipped, an interrupted one resumes from
``last.pt``. ``evaluate``, ``explain`` and ``benchmark`` read a subset model's jets through the features
its checkpoint records.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hepxai.config import DataConfig, RunConfig, config_to_dict
from hepxai.data.jets import Jets
from hepxai.errors import InputError
from hepxai.evaluation import check_classes, predict, tagger_score
from hepxai.feature_ranking import RANKINGS, FeatureRanking, rank_features
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.lock import lock_folder
from hepxai.io.yaml_files import read_yaml
from hepxai.metrics.classification import background_rejection, bootstrap_interval, roc_auc
from hepxai.models.checkpoint import load_checkpoint
from hepxai.provenance import write_provenance
from hepxai.training import read_data, split_indices, train

log = logging.getLogger(__name__)

FEATURE_COUNTS = (4, 8, 12, 16, 24, 32, 48)
"""k of the study; a k at least the schema's feature count (48 for CMS) is the model on all features."""
COLUMNS = (
    "ranking",
    "k",
    "seed",
    "auc",
    "auc_low",
    "auc_high",
    "rejection_50",
    "rejection_50_low",
    "rejection_50_high",
    "test_jets",
    "features",
)
"""Columns of the results table; ``*_low``/``*_high`` are the 68% bootstrap interval over the test jets."""
RESULT_FILE = "result.yaml"
RANKING_FILE = "rankings.csv"


@dataclass(frozen=True)
class ReductionPlan:
    """What the study trains and how it scores.

    Attributes:
        run: The settings of every training (data, model, budget); ``data.files`` are the training files,
            ``train.seed`` is replaced by each of ``seeds``.
        test_files: Labelled jets (both classes) the models never saw.
        rankings: Names from :data:`hepxai.feature_ranking.RANKINGS`.
        feature_counts: The k to retrain at.
        seeds: Training seeds (split, weights, batch order; the random ranking too).
        ranking_jets: Validation jets the rankings use (default: all of the split's).
        bootstrap: Resamples of the test jets per interval.
        test_max_jets: Read at most this many test jets.
    """

    run: RunConfig
    test_files: tuple[str, ...]
    rankings: tuple[str, ...] = RANKINGS
    feature_counts: tuple[int, ...] = FEATURE_COUNTS
    seeds: tuple[int, ...] = (0, 1, 2)
    ranking_jets: int | None = None
    bootstrap: int = 200
    test_max_jets: int | None = None


def run_reduction(
    plan: ReductionPlan,
    out: str | Path,
    *,
    results: str | Path | None = None,
    figure: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train and score every (ranking, k, seed) of ``plan`` not finished in ``out``; return the table.

    Args:
        plan: The study.
        out: Folder of all runs; holds ``seed<S>/...``.
        results: Also write the table there (CSV, with its provenance sidecar).
        figure: Also draw rejection at 50% signal efficiency against k there (PNG).
        progress: Show progress bars.

    Raises:
        InputError: unknown ranking, a k that is neither below the number of distinct features nor the
            full count, test jets of one class, a finished run with other settings.
    """
    unknown = [name for name in plan.rankings if name not in RANKINGS]
    if unknown:
        msg = f"unknown ranking '{unknown[0]}' (valid: {', '.join(RANKINGS)})"
        raise InputError(msg)
    out = Path(out)
    with lock_folder(out):
        jets, data = read_data(plan.run.data, progress=progress)
        test_data = DataConfig(
            files=plan.test_files,
            schema=plan.run.data.schema,
            selection=data.selection,
            max_jets=plan.test_max_jets,
        )
        test, _ = read_data(test_data, progress=progress)
        check_classes(test.label, ", ".join(plan.test_files))
        counts = _checked_counts(plan.feature_counts, jets.feature_names)
        run = dataclasses.replace(plan.run, data=data)
        log.info(
            "feature reduction: %d training jets, %d test jets (%s selection); %d retrainings per seed",
            len(jets),
            len(test),
            data.selection,
            1 + len(plan.rankings) * sum(k < jets.num_features for k in counts),
        )
        rows = []
        for seed in plan.seeds:
            rows += _seed_rows(plan, run, seed, counts, jets, test, out / f"seed{seed}", progress)
        table = pd.DataFrame(rows, columns=list(COLUMNS))
        if results is not None:
            with atomic_path(Path(results)) as temporary:
                table.to_csv(temporary, index=False, float_format="%.5g")
            write_provenance(results)
        if figure is not None:
            from hepxai.plots.reduction import plot_reduction
            from hepxai.plots.style import save_figure

            save_figure(plot_reduction(table, num_background=int((test.label == 0).sum())), figure, ("png",))
    return table


def _seed_rows(
    plan: ReductionPlan,
    run: RunConfig,
    seed: int,
    counts: Sequence[int],
    jets: Jets,
    test: Jets,
    folder: Path,
    progress: bool,
) -> list[dict[str, Any]]:
    """The table rows of one seed: the all-features model (one row per ranking), then every subset."""
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, seed=seed))
    full = _trained(run, jets, test, folder / "all", plan, progress)
    rows = []
    for name in plan.rankings:
        ranking = _ranking(name, folder, full["best"], jets, run, seed, plan.ranking_jets)
        for k in counts:
            if k >= jets.num_features:
                result = full
            else:
                subset = dataclasses.replace(run, data=dataclasses.replace(run.data, features=ranking.top(k)))
                result = _trained(subset, jets, test, folder / name / f"k{k}", plan, progress)
            rows.append({"ranking": name, "k": min(k, jets.num_features), "seed": seed, **result["scores"]})
    return rows


def _trained(
    run: RunConfig, jets: Jets, test: Jets, folder: Path, plan: ReductionPlan, progress: bool
) -> dict[str, Any]:
    """The scores of the run in ``folder``: read back when finished, else trained (or resumed) and scored."""
    settings = config_to_dict(run)
    result_path = folder / RESULT_FILE
    if result_path.is_file():
        stored = read_yaml(result_path)
        if stored.get("run_config") != settings:
            msg = (
                f"{result_path}: a finished run with other settings; "
                "delete the folder or choose another --out"
            )
            raise InputError(msg)
        return {**stored, "best": folder / "best.pt"}
    features = run.data.features
    log.info("training on %s", f"{len(features)} features" if features else "all features")
    start = time.perf_counter()
    outcome = train(
        jets.with_features(features),
        run,
        folder,
        resume=(folder / "last.pt").is_file(),
        progress=progress,
    )
    seconds = time.perf_counter() - start
    if outcome.best is None:
        msg = f"{folder}: no epoch was selected, nothing to score"
        raise InputError(msg)
    model = load_checkpoint(outcome.best_path)
    scores = score_test(model, test.with_features(features), resamples=plan.bootstrap)
    scores["features"] = ";".join(features) if features else "all"
    content = {
        "run_config": settings,
        "scores": scores,
        "best_epoch": outcome.best_epoch,
        "epochs": len(outcome.history),
        "train_seconds": round(seconds, 1),  # this session's time (0 epochs trained when already finished)
    }
    write_text(result_path, _yaml(content))
    return {**content, "best": outcome.best_path}


def score_test(model: Any, test: Jets, *, resamples: int = 200, seed: int = 0) -> dict[str, float]:
    """ROC AUC and rejection at 50% signal efficiency on ``test``, with 68% bootstrap intervals.

    The bootstrap is seeded by ``seed`` alone, so every model is resampled on the same jets.
    """
    score = tagger_score(predict(model, test))
    label = test.label

    def rejection(values: np.ndarray, labels: np.ndarray) -> float:
        return background_rejection(values, labels, 0.5)

    auc_interval = bootstrap_interval(score, label, roc_auc, resamples=resamples, seed=seed)
    rejection_range = bootstrap_interval(score, label, rejection, resamples=resamples, seed=seed)
    return {
        "auc": roc_auc(score, label),
        "auc_low": auc_interval[0],
        "auc_high": auc_interval[1],
        "rejection_50": rejection(score, label),
        "rejection_50_low": rejection_range[0],
        "rejection_50_high": rejection_range[1],
        "test_jets": len(label),
    }


def _ranking(
    name: str,
    folder: Path,
    model_path: Path,
    jets: Jets,
    run: RunConfig,
    seed: int,
    ranking_jets: int | None,
) -> FeatureRanking:
    """The ranking ``name`` of this seed's all-features model on its validation jets, computed once and
    kept in ``rankings.csv``."""
    path = folder / RANKING_FILE
    table = (
        pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["ranking", "feature", "importance"])
    )
    stored = table[table["ranking"] == name]
    if len(stored):
        return FeatureRanking(name, tuple(stored["feature"]), tuple(stored["importance"]))
    _, validation = split_indices(len(jets), run.train.validation_fraction, seed)
    model = load_checkpoint(model_path)
    start = time.perf_counter()
    ranking = rank_features(name, model, jets.select(validation[:ranking_jets]), seed=seed)
    log.info("%s ranking in %.0f s: %s", name, time.perf_counter() - start, ", ".join(ranking.top(8)))
    rows = pd.DataFrame({"ranking": name, "feature": ranking.names, "importance": ranking.importance})
    table = rows if table.empty else pd.concat([table, rows], ignore_index=True)
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, float_format="%.6g")
    return ranking


def _checked_counts(counts: Sequence[int], feature_names: Sequence[str]) -> list[int]:
    """``counts`` sorted; each must be below the number of distinct features or at least the full count."""
    distinct, total = len(set(feature_names)), len(feature_names)
    for k in counts:
        if k < 1 or distinct <= k < total:
            msg = (
                f"--features-kept: {k} is not a subset size (1 to {distinct - 1} of the {distinct} distinct "
                f"features, or {total} for all)"
            )
            raise InputError(msg)
    return sorted(set(counts))


def _yaml(content: dict[str, Any]) -> str:
    import yaml

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Path):
            return str(value)
        return value

    return yaml.safe_dump(plain(content), sort_keys=False)
