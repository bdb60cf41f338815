"""Run settings: one frozen dataclass per YAML section, read strictly and written back resolved.

A run config is a YAML mapping with the sections ``data``, ``model`` and ``train``; every key is
optional and falls back to the dataclass default. Unknown keys, wrong types and out-of-range values are
refused with one line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from hepxai.errors import InputError
from hepxai.io.atomic import write_text
from hepxai.io.yaml_files import read_yaml


@dataclass(frozen=True)
class DataConfig:
    """Which jets to read.

    Attributes:
        files: ROOT files of jets.
        schema: ``cms_hbb``, ``sanity``, a schema YAML file, or ``auto`` (detected from the first file).
        selection: ``original`` is the HIN window 40 < m_SD < 200 GeV, 300 < pT < 2000 GeV; ``auto`` applies
            it when the schema has those spectators.
        max_jets: Read at most this many jets (the first ones passing labels and selection).
        features: Track features the model reads, by schema name, in that order (empty: all of the schema's);
            a run on a subset records it here, and evaluate, explain and benchmark read its jets the same way.
    """

    files: tuple[str, ...] = ()
    schema: str = "auto"
    selection: Literal["auto", "original", "none"] = "auto"
    max_jets: int | None = None
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    """Which model to train; the feature count comes from the data.

    Attributes:
        kind: A registered model kind (``hepxai.models.model_kinds()``).
        hidden: Width of the hidden layers.
    """

    kind: str = "interaction_network"
    hidden: int = 128


@dataclass(frozen=True)
class TrainConfig:
    """The training loop.

    Attributes:
        epochs: Maximum number of passes over the training jets.
        lr: Adam learning rate.
        batch_size: Jets per minibatch.
        validation_fraction: Share of jets held out for validation and early stopping.
        patience: Stop after this many epochs without a lower validation loss.
        seed: Seeds the split, the initial weights and the order of minibatches.
        reweight_pt: Weight QCD jets so their fj_pt spectrum matches the signal's.
        fused: Train with the fused forward pass (same function, faster); else the plain one.
        select: Keep as ``best.pt`` the epoch of the lowest validation ``loss`` or the highest
            validation ROC ``auc`` (the LRI protocol); early stopping follows the same measure.
        recompute_batchnorm: After every epoch, before validation, set every BatchNorm's running
            statistics to their average over the training set under the epoch's final weights
            (:func:`hepxai.training.recompute_batchnorm`) instead of keeping the running averages of the
            last batches, which lag weights that change quickly.
        stream: Read the jets piece by piece through a shuffle buffer instead of all at once
            (:class:`hepxai.training.StreamTask`): memory set by ``shuffle_buffer``, not by the data.
        shuffle_buffer: Jets held for shuffling when streaming.
    """

    epochs: int = 30
    lr: float = 1e-4
    batch_size: int = 128
    validation_fraction: float = 0.2
    patience: int = 5
    seed: int = 0
    reweight_pt: bool = False
    fused: bool = True
    select: Literal["loss", "auc"] = "loss"
    recompute_batchnorm: bool = False
    stream: bool = False
    shuffle_buffer: int = 10_000


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run depends on."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


_SECTIONS = {f.name: f.type for f in dataclasses.fields(RunConfig)}
_MINIMUM = {"epochs": 1, "batch_size": 1, "patience": 1, "hidden": 1, "max_jets": 1, "shuffle_buffer": 1}


def load_config(path: str | Path) -> RunConfig:
    """Read a run config from YAML.

    Raises:
        InputError: missing file, invalid YAML, unknown key, wrong type or out-of-range value.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: config file not found"
        raise InputError(msg)
    return config_from_dict(read_yaml(path), source=str(path))


def config_from_dict(raw: object, *, source: str = "config") -> RunConfig:
    """Build a :class:`RunConfig` from nested dicts, checking every key and value against the dataclasses."""
    if not isinstance(raw, dict):
        msg = f"{source}: expected a mapping with sections {', '.join(_SECTIONS)}"
        raise InputError(msg)
    _reject_unknown(raw, _SECTIONS, source, prefix="")
    sections = {}
    for name, section_type in typing.get_type_hints(RunConfig).items():
        values = raw.get(name) or {}
        if not isinstance(values, dict):
            msg = f"{source}: section '{name}' must be a mapping"
            raise InputError(msg)
        hints = typing.get_type_hints(section_type)
        _reject_unknown(values, hints, source, prefix=f"{name}.")
        sections[name] = section_type(
            **{key: _checked(value, hints[key], f"{source}: '{name}.{key}'") for key, value in values.items()}
        )
    return RunConfig(**sections)


def config_to_dict(config: Any) -> dict[str, dict[str, Any]]:
    """Nested plain dicts and lists of a dataclass of sections (a :class:`RunConfig`), as written to YAML."""
    return {
        section.name: {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(getattr(config, section.name)).items()
        }
        for section in dataclasses.fields(config)
    }


def write_config(config: Any, path: str | Path) -> Path:
    """Write the config as YAML atomically (a temporary file, then a rename)."""
    return write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))


def _reject_unknown(values: dict, valid: dict, source: str, *, prefix: str) -> None:
    unknown = sorted(str(key) for key in values if key not in valid)
    if unknown:
        msg = f"{source}: unknown key '{prefix}{unknown[0]}' (valid: {', '.join(valid)})"
        raise InputError(msg)


def _checked(value: object, hint: object, where: str) -> object:
    """``value`` converted to the field type ``hint``, or an InputError naming the field."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (hint,) = [a for a in arguments if a is not type(None)]
        return _checked(value, hint, where)
    if origin is Literal:
        if value not in arguments:
            msg = f"{where} must be one of {', '.join(map(str, arguments))} (got {value!r})"
            raise InputError(msg)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            msg = f"{where} must be a list of strings (got {value!r})"
            raise InputError(msg)
        return tuple(value)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):  # type: ignore[arg-type]
        msg = f"{where} must be {hint.__name__} (got {value!r})"  # type: ignore[union-attr]
        raise InputError(msg)
    name = where.rsplit(".", 1)[-1].rstrip("'")
    if name in _MINIMUM and value < _MINIMUM[name]:  # type: ignore[operator]
        msg = f"{where} must be at least {_MINIMUM[name]} (got {value!r})"
        raise InputError(msg)
    if name == "lr" and not value > 0:  # type: ignore[operator]
        msg = f"{where} must be positive (got {value!r})"
        raise InputError(msg)
    if name == "validation_fraction" and not 0 < value < 1:  # type: ignore[operator]
        msg = f"{where} must be between 0 and 1, exclusive (got {value!r})"
        raise InputError(msg)
    return value
