"""``hepxai lri``: the budget presets (quick by default, the paper's on request, explicit options win)."""

from __future__ import annotations

from hepxai.cli import build_parser
from hepxai.cli.lri import _options


def _budget(*extra: str) -> tuple[dict, list[int]]:
    args = build_parser().parse_args(["lri", "benchmark", "--data", "d", "--out", "runs", *extra])
    options = _options(args)
    return {key: options[key] for key in ("epochs", "mask_steps", "mask_epochs")}, args.seeds


def test_the_default_budget_is_the_quick_one():
    assert _budget() == ({"epochs": 20, "mask_steps": 100, "mask_epochs": 10}, [0])


def test_the_paper_preset_is_the_lri_papers_budget():
    assert _budget("--preset", "paper") == ({"epochs": 300, "mask_steps": 500, "mask_epochs": 100}, [0, 1, 2])


def test_an_explicit_option_overrides_the_preset():
    budget, seeds = _budget("--preset", "paper", "--epochs", "7", "--seeds", "4")
    assert budget == {"epochs": 7, "mask_steps": 500, "mask_epochs": 100}
    assert seeds == [4]


def test_train_takes_the_preset_too():
    args = build_parser().parse_args(["lri", "train", "--data", "d", "--out", "r", "--method", "erm"])
    assert _options(args)["epochs"] == 20
