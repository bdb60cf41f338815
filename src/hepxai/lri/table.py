"""The comparison table of the LRI protocol: one row per dataset, backbone, method and protocol.

A row averages the seeds that ran to the end. A seed whose run failed (a NaN among its metrics, as a
diverged training gives) is counted apart in ``failed_seeds``, never in ``seeds`` nor in the means. The
standard deviation is left blank for a single seed: it is not zero, it is unknown. ``settings`` names the
protocol of the row's runs (from each run's recorded :class:`~hepxai.lri.protocol.RunSpec`): BatchNorm
statistics as running averages or recomputed over the training set, and the budget of the mask methods;
runs of another protocol are another row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hepxai.io.atomic import atomic_path
from hepxai.io.yaml_files import read_yaml
from hepxai.lri.protocol import RESULT_FILE, overrides
from hepxai.provenance import write_provenance

METRICS = ("interp_auc", "prec_at_k1", "prec_at_k2", "pred_auc")
COLUMNS = (
    "dataset", "backbone", "method", "variant", "interp_auc_mean", "interp_auc_std", "prec_at_k1",
    "prec_at_k1_std", "prec_at_k2", "prec_at_k2_std", "k1", "k2", "pred_auc_mean", "pred_auc_std", "seeds",
    "failed_seeds", "epochs", "warmup_epochs", "settings",
)  # fmt: skip
_MEAN_NAMES = {"interp_auc": "interp_auc_mean", "pred_auc": "pred_auc_mean"}
"""The mean's column where it is not the metric's own name (precision@k keeps its name)."""


def collect(out: str | Path) -> list[dict]:
    """The results of every finished run under ``out`` (dataset, backbone, method, seed order), each
    with the ``settings`` its ``result.yaml`` records."""
    paths = sorted(Path(out).glob(f"*/*/*/seed*/{RESULT_FILE}"))
    return [read_yaml(path) for path in paths]


def settings_label(settings: dict[str, Any] | None, method: str) -> str:
    """The ``settings`` cell of a run: ``batchnorm=running`` or ``batchnorm=recomputed``, then the mask
    budget for BernMask (``mask_steps``) and BernMask-P (``mask_epochs``), then the settings given in place
    of the authors' (``beta``, ``alpha``, ``c``); blank where not recorded."""
    if not settings:
        return ""
    batchnorm = "recomputed" if settings.get("recompute_batchnorm") else "running"
    parts = [f"batchnorm={batchnorm}"]
    budget = {"bernmask": "mask_steps", "bernmask_p": "mask_epochs"}.get(method)
    if budget and budget in settings:
        parts.append(f"{budget}={settings[budget]}")
    given = overrides(
        method, beta=settings.get("beta"), alpha=settings.get("alpha"), scale=settings.get("scale")
    )
    parts += [f"{key}={value:g}" for key, value in given.items()]
    return " ".join(parts)


def failed(result: dict) -> bool:
    """Whether a run failed: one of its metrics is NaN or infinite (``None``, not applicable, is fine)."""
    return any(isinstance(value := result.get(name), float) and not math.isfinite(value) for name in METRICS)


def summarise(results: Sequence[dict]) -> pd.DataFrame:
    """One row per (dataset, backbone, method, settings): means and standard deviations over the seeds
    that did not fail (see the module docstring); the columns are :data:`COLUMNS`."""
    groups: dict[tuple[str, str, str, str], list[dict]] = {}
    for result in results:
        key = (result["dataset"], result["backbone"], result["method"])
        groups.setdefault((*key, settings_label(result.get("settings"), result["method"])), []).append(result)
    rows = []
    for (dataset, backbone, method, settings), group in groups.items():
        done = [result for result in group if not failed(result)]
        first = group[0]
        row: dict[str, Any] = {"dataset": dataset, "backbone": backbone, "method": method}
        row["variant"] = first.get("variant") or ""
        for name in METRICS:
            values = [result[name] for result in done if result.get(name) is not None]
            row[_MEAN_NAMES.get(name, name)] = sum(values) / len(values) if values else None
            row[f"{name}_std"] = _std(values)
        row.update(k1=int(first["k1"]), k2=int(first["k2"]), epochs=int(first["epochs"]))
        row.update(warmup_epochs=int(first["warmup_epochs"]), settings=settings)
        row.update(seeds=len(done), failed_seeds=len(group) - len(done))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_table(out: str | Path, path: str | Path) -> pd.DataFrame:
    """Summarise the finished runs under ``out`` into the CSV ``path`` (written atomically) and its
    provenance sidecar; returns the table."""
    table = summarise(collect(out))
    path = Path(path)
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, float_format="%.4f")
    write_provenance(path, update=True)
    return table


def _std(values: list[float]) -> float | None:
    """Population standard deviation (``ddof=0``, as the committed tables); ``None`` below two values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))
