"""The LRI table over seeds on hand-made run results: failed seeds, single seeds, protocols."""

from __future__ import annotations

import math

import pytest

from hepxai.lri.table import COLUMNS, failed, settings_label, summarise

RUNNING = {"recompute_batchnorm": False, "mask_steps": 100, "mask_epochs": 10, "epochs": 20}
RECOMPUTED = {**RUNNING, "recompute_batchnorm": True}


def result(seed: int, pred_auc: float, interp_auc: float | None, **changes) -> dict:
    record = {
        "dataset": "synthetic",
        "backbone": "dgcnn",
        "method": "gradgam",
        "variant": None,
        "seed": seed,
        "interp_auc": interp_auc,
        "prec_at_k1": None if interp_auc is None else interp_auc / 2,
        "prec_at_k2": None if interp_auc is None else interp_auc / 4,
        "k1": 3,
        "k2": 5,
        "pred_auc": pred_auc,
        "epochs": 20,
        "warmup_epochs": 0,
        "settings": RUNNING,
    }
    return {**record, **changes}


def test_a_failed_seed_is_counted_apart_and_left_out_of_the_means():
    rows = [result(0, 0.9, 0.8), result(1, math.nan, math.nan), result(2, 0.7, 0.6)]
    (row,) = summarise(rows).to_dict("records")
    assert (row["seeds"], row["failed_seeds"]) == (2, 1)
    # Seeds 0 and 2: means 0.8 and 0.7, population std |0.9 - 0.7| / 2 = 0.1.
    assert row["pred_auc_mean"] == pytest.approx(0.8)
    assert row["pred_auc_std"] == pytest.approx(0.1)
    assert row["interp_auc_mean"] == pytest.approx(0.7)
    assert row["prec_at_k2"] == pytest.approx(0.7 / 4)


def test_one_seed_has_no_standard_deviation_and_a_failed_one_only_no_mean():
    single, only_failed = summarise([result(0, 0.9, 0.8)]), summarise([result(0, math.inf, None)])
    assert single.seeds.item() == 1
    assert single.pred_auc_std.isna().item()
    assert single.interp_auc_std.isna().item()
    assert (only_failed.seeds.item(), only_failed.failed_seeds.item()) == (0, 1)
    assert only_failed.pred_auc_mean.isna().item()


def test_not_applicable_metrics_are_not_a_failure():
    erm = result(0, 0.95, None, method="erm")  # ERM scores no points: interp_auc is None
    assert not failed(erm)
    (row,) = summarise([erm]).to_dict("records")
    assert (row["seeds"], row["failed_seeds"]) == (1, 0)
    assert row["interp_auc_mean"] is None or math.isnan(row["interp_auc_mean"])


def test_runs_of_another_protocol_are_another_row_named_by_settings():
    rows = [result(0, 0.9, 0.8), result(1, 0.7, 0.6, settings=RECOMPUTED), result(0, 0.5, 0.4, settings=None)]
    table = summarise(rows)
    assert list(table.columns) == list(COLUMNS)
    assert list(table.settings) == ["batchnorm=running", "batchnorm=recomputed", ""]
    assert list(table.seeds) == [1, 1, 1]


def test_settings_label_names_the_budget_of_the_mask_methods():
    assert settings_label(RUNNING, "bernmask") == "batchnorm=running mask_steps=100"
    assert settings_label(RECOMPUTED, "bernmask_p") == "batchnorm=recomputed mask_epochs=10"
    assert settings_label(RUNNING, "lri_gaussian") == "batchnorm=running"
    assert settings_label(None, "erm") == ""
