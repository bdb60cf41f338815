"""Learning curves: the numbers drawn are the history's, the best epoch is marked; read_history's refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepxai.errors import InputError
from hepxai.models import build_model, save_checkpoint
from hepxai.plots.training import BEST_COLOR, learning_curves
from hepxai.training import read_history

HISTORY = [
    {"epoch": 1, "train_loss": 0.9, "val_loss": 0.8, "val_auc": 0.7, "seconds": 3.0},
    {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6, "val_auc": 0.9, "seconds": 3.0},
    {"epoch": 3, "train_loss": 0.4, "val_loss": 0.7, "val_auc": float("nan"), "seconds": 3.0},
]


def _run(tmp_path: Path, **content: object) -> Path:
    model = build_model("interaction_network", num_features=3)
    return save_checkpoint(tmp_path / "last.pt", model, **content)


def test_the_curves_draw_the_history_and_mark_the_best_epoch(tmp_path: Path) -> None:
    path = _run(tmp_path, history=HISTORY, best_epoch=2, run_config={"train": {"select": "auc"}})
    runs = read_history(path)
    assert (runs.best_epoch, runs.select, runs.kind) == (2, "auc", "interaction_network")
    columns = {
        name: np.array([getattr(record, name) for record in runs.history])
        for name in ("epoch", "train_loss", "val_loss", "val_auc")
    }
    figure = learning_curves(**columns, best_epoch=runs.best_epoch, selected_by="highest validation AUC")
    loss_ax, auc_ax = figure.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines() + auc_ax.get_lines()}
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), [0.9, 0.5, 0.4])
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), [0.8, 0.6, 0.7])
    np.testing.assert_array_equal(lines["validation AUC"].get_ydata(), [0.7, 0.9, np.nan])
    marked = [line for line in loss_ax.get_lines() if line.get_color() == BEST_COLOR]
    assert [tuple(line.get_xdata()) for line in marked] == [(2, 2), (2,)]  # the vertical line and the star
    assert marked[1].get_ydata()[0] == 0.6
    assert "best epoch 2 (highest validation AUC)" in lines


def test_no_best_epoch_draws_no_mark(tmp_path: Path) -> None:
    columns = {name: np.array([1.0, 2.0]) for name in ("epoch", "train_loss", "val_loss", "val_auc")}
    figure = learning_curves(**columns)
    assert all(line.get_color() != BEST_COLOR for ax in figure.axes for line in ax.get_lines())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({}, "field 'history' is missing or empty"),
        ({"history": []}, "field 'history' is missing or empty"),
        (
            {"history": [{"epoch": 1, "train_loss": 0.5}]},
            "field 'history[0]' has no val_loss, val_auc, seconds",
        ),
    ],
)
def test_a_file_without_a_history_is_one_line(tmp_path: Path, content: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_history(_run(tmp_path, **content))
