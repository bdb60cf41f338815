"""The LRI paper's tuning grid: one method's settings chosen on validation prediction AUC.

The authors chose the weight β of the information term, LRI-Bernoulli's prior α and LRI-Gaussian's prior
scale c per dataset and backbone from a small grid, on the validation prediction AUC (the paper's appendix
E.1). :func:`tune` runs that grid through the protocol: each setting is a run of its own folder
(``lri_gaussian-beta0.1-c300``), all warm-started from the same ERM run. The table has one row per setting;
``selected`` marks the best validation AUC, and the test metrics beside it are reported, never used to
choose.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.lri.protocol import RunSpec, overrides, run_specs
from hepxai.provenance import write_provenance

COLUMNS = (
    "dataset", "backbone", "method", "beta", "alpha", "c", "seed", "epochs", "warmup_epochs", "best_epoch",
    "val_auc", "pred_auc", "interp_auc", "prec_at_k1", "prec_at_k2", "selected",
)  # fmt: skip


def grid(
    method: str,
    betas: Sequence[float],
    alphas: Sequence[float] = (),
    scales: Sequence[float] = (),
) -> list[dict[str, float | None]]:
    """Every combination of the values given, as ``RunSpec`` keywords (``beta``, ``alpha``, ``scale``).

    Raises:
        InputError: α for a method other than LRI-Bernoulli, c for one other than LRI-Gaussian, or a
            method without β.
    """
    has = overrides(method, beta=1.0, alpha=1.0, scale=1.0)  # the settings this method has
    for option, values, name in (
        ("--betas", betas, "beta"),
        ("--alphas", alphas, "alpha"),
        ("--scales", scales, "c"),
    ):
        if values and name not in has:
            msg = f"{option}: method '{method}' has no such setting"
            raise InputError(msg)
    return [
        {"beta": beta, "alpha": alpha, "scale": scale}
        for beta, alpha, scale in itertools.product(betas or [None], alphas or [None], scales or [None])
    ]


def tune(
    data: Path,
    backbone: str,
    method: str,
    settings: Sequence[dict[str, float | None]],
    out: Path,
    *,
    seed: int = 0,
    progress: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Run (or read) one run per setting of ``settings``; the table of :data:`COLUMNS`."""
    specs = [RunSpec(data, backbone, method, seed, **options, **setting) for setting in settings]
    results = zip(specs, run_specs(specs, out, progress=progress, desc=f"{method} grid"), strict=True)
    rows = [
        {
            **{name: result.get(name) for name in COLUMNS},
            "beta": spec.beta,
            "alpha": spec.alpha,
            "c": spec.scale,
            "selected": False,
        }
        for spec, result in results
    ]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table.loc[table["val_auc"].idxmax(), "selected"] = True
    return table


def selected_setting(table: pd.DataFrame) -> dict[str, float | None]:
    """The ``RunSpec`` keywords of the table's selected row (a blank cell: the authors' setting)."""
    row = table.loc[table["selected"].astype(bool)].iloc[0]
    values = {"beta": row["beta"], "alpha": row["alpha"], "scale": row["c"]}
    return {key: None if pd.isna(value) else float(value) for key, value in values.items()}


def write_tuning(table: pd.DataFrame, path: str | Path) -> None:
    """Add ``table``'s rows to the CSV ``path`` (rows of the same dataset, backbone, method, seed and epochs
    replaced), written atomically, and its provenance sidecar."""
    path = Path(path)
    key = ["dataset", "backbone", "method", "seed", "epochs"]
    if path.is_file():
        kept = pd.read_csv(path)
        mine = kept[key].apply(tuple, axis=1).isin(set(table[key].apply(tuple, axis=1)))
        table = pd.concat([kept[~mine], table], ignore_index=True)
    settings = [column for column in ("beta", "alpha", "c") if column in table]
    table = table.astype(dict.fromkeys(settings, float))  # None (not this method's setting): a blank cell
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, float_format="%.4f")
    write_provenance(path, update=True)
