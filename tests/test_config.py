"""Run configs: defaults, round trip through YAML, and one-line refusals naming file and key."""

import pytest

from hepxai.config import RunConfig, config_from_dict, load_config, write_config
from hepxai.errors import InputError


def test_yaml_round_trip(tmp_path):
    config = config_from_dict(
        {"data": {"files": ["a.root", "b.root"]}, "train": {"lr": 1, "reweight_pt": True}}
    )
    assert config.train.lr == 1.0
    assert config.train.batch_size == RunConfig().train.batch_size == 128
    assert load_config(write_config(config, tmp_path / "config.yaml")) == config


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("train:\n  lr_rate: 0.1\n", r"run.yaml: unknown key 'train.lr_rate' \(valid: epochs, lr,"),
        ("trian:\n  lr: 0.1\n", r"run.yaml: unknown key 'trian'"),
        ("train:\n  epochs: 2.5\n", r"run.yaml: 'train.epochs' must be int \(got 2.5\)"),
        ("train:\n  epochs: 0\n", r"'train.epochs' must be at least 1"),
        ("train:\n  reweight_pt: 1\n", r"'train.reweight_pt' must be bool"),
        ("train:\n  validation_fraction: 1.2\n", r"'train.validation_fraction' must be between 0 and 1"),
        ("train:\n  lr: 0\n", r"'train.lr' must be positive"),
        ("data:\n  selection: tight\n", r"'data.selection' must be one of auto, original, none"),
        ("data:\n  files: a.root\n", r"'data.files' must be a list of strings"),
        ("- 1\n", r"expected a mapping"),
        ("train: [1]\n", r"section 'train' must be a mapping"),
    ],
)
def test_bad_configs_are_refused(tmp_path, text, match):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        load_config(path)
