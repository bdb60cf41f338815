"""The graph builders of a setting, fitted on its training events once and kept in the setting's folder.

- ``module_map``: the module map with geometric cuts, ``ROOT/SETTING/module_map.npz``; fitted once, its
  ``cut_quantile`` and training events recorded in ``module_map.yaml``; a run asking for another quantile
  is refused (delete the file to fit it again).
- ``module_map_nocuts``: the same module pairs without cuts.
- ``embedding``: the metric-learning embedding, ``ROOT/SETTING/embedding/``, trained (or resumed) until it
  has ``epochs`` epochs, watching :data:`VALIDATION_EVENTS` validation events.

With ``map_pt_min``, a module map learns its pairs from the training particles above that pT rather than
above the setting's cut (more module pairs seen); its cuts still come from the setting's particles. Such a
builder has its own name, ``BUILDER_mapPT`` (the map file and the graph folder).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from hepxai.errors import InputError
from hepxai.io.atomic import write_text
from hepxai.io.yaml_files import read_yaml
from hepxai.tracking.embedding import (
    EmbeddingConfig,
    EmbeddingGraphBuilder,
    load_embedding,
    train_embedding,
    trained_epochs,
)
from hepxai.tracking.event_graph import event_hits
from hepxai.tracking.graph_building import GraphBuilder
from hepxai.tracking.module_map import ModuleMap
from hepxai.tracking.sample import read_setting_events
from hepxai.tracking.settings import Setting

log = logging.getLogger(__name__)

BUILDERS = ("module_map", "module_map_nocuts", "embedding")
VALIDATION_EVENTS = 5
"""Validation events watched while the embedding trains (loss, graph edge efficiency and purity)."""


@dataclass(frozen=True)
class BuilderChoice:
    """Which builder, with what.

    Attributes:
        builder: One of :data:`BUILDERS`.
        cut_quantile: Module map: the quantile of the learnt cuts.
        map_pt_min: Module map: learn the module pairs from training particles above this pT (GeV).
        embedding: Embedding: model, training and graph settings.
    """

    builder: str = "module_map"
    cut_quantile: float = 0.999
    map_pt_min: float | None = None
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)

    @property
    def name(self) -> str:
        """The builder's name: its graph folder and module-map file."""
        return self.builder if self.map_pt_min is None else f"{self.builder}_map{self.map_pt_min:g}"


def fitted_builder(
    setting: Setting, root: str | Path, choice: BuilderChoice, *, progress: bool = True
) -> tuple[GraphBuilder, dict]:
    """The builder of ``choice`` for ``setting`` (fitted or trained first where needed) and what the graph
    folder's ``graphs.yaml`` records about it.

    Raises:
        InputError: an unknown builder, or ``map_pt_min`` with the embedding.
    """
    if choice.builder not in BUILDERS:
        msg = f"field 'builder' is {choice.builder!r}, expected one of {', '.join(BUILDERS)}"
        raise InputError(msg)
    if choice.builder == "embedding":
        if choice.map_pt_min is not None:
            msg = "field 'map_pt_min' is an option of the module map builders, not of the embedding"
            raise InputError(msg)
        return _trained_embedding(setting, root, choice.embedding, progress=progress)
    return _fitted_module_map(setting, root, choice)


def _fitted_module_map(setting: Setting, root: str | Path, choice: BuilderChoice) -> tuple[ModuleMap, dict]:
    path = setting.folder(root) / f"{choice.name}.npz"
    fitted_with = {
        "cut_quantile": choice.cut_quantile if choice.builder == "module_map" else None,
        "train_events": [setting.train.start, setting.train.stop],
    }
    if path.is_file():
        _check_fit(path, fitted_with)
        module_map = ModuleMap.load(path)
    else:
        log.info("fitting the module map on %d training events", len(setting.train))
        map_setting = setting if choice.map_pt_min is None else replace(setting, pt_min=choice.map_pt_min)
        module_map = ModuleMap.fit(
            (event_hits(event) for event in read_setting_events(map_setting, root, setting.train)),
            cut_quantile=choice.cut_quantile if choice.builder == "module_map" else None,
            cut_pt_min=setting.pt_min,
        )
        module_map.save(path)
        write_text(path.with_suffix(".yaml"), yaml.safe_dump(fitted_with, sort_keys=False))
    log.info("module map %s: %d module pairs, cuts %s", path, len(module_map.table), module_map.cuts)
    record = {
        "builder": choice.builder,
        "module_map": str(path),
        "module_pairs": len(module_map.table),
        "cuts": module_map.cuts,
        "train_events": [setting.train.start, setting.train.stop],
    }
    if choice.map_pt_min is not None:
        record["map_pt_min"] = choice.map_pt_min
    return module_map, record


def _check_fit(path: Path, wanted: dict) -> None:
    """Refuse a stored map fitted with other settings (its ``.yaml``); maps from before it was written
    are used with a warning."""
    record_path = path.with_suffix(".yaml")
    if not record_path.is_file():
        log.warning("%s: fitted before its settings were recorded; cut quantile not checked", path)
        return
    earlier = read_yaml(record_path)
    for key, value in wanted.items():
        if earlier.get(key) != value:
            msg = (
                f"{record_path}: field '{key}' is {earlier.get(key)!r}, this run asks for {value!r}; "
                f"delete {path.name} (and its graph folders) to fit the map again"
            )
            raise InputError(msg)


def _trained_embedding(
    setting: Setting, root: str | Path, config: EmbeddingConfig, *, progress: bool
) -> tuple[EmbeddingGraphBuilder, dict]:
    folder = setting.folder(root) / "embedding"
    if trained_epochs(folder) < config.epochs:
        log.info("reading %d training and %d validation events", len(setting.train), VALIDATION_EVENTS)
        train = [event_hits(event) for event in read_setting_events(setting, root, setting.train)]
        valid_ids = setting.valid[:VALIDATION_EVENTS]
        valid = [event_hits(event) for event in read_setting_events(setting, root, valid_ids)]
        train_embedding(folder, train, valid, config, progress=progress)
    model, trained = load_embedding(folder)
    record = {
        "builder": "embedding",
        "embedding": str(folder / "best.pt"),
        "radius": config.radius,
        "max_neighbours": config.max_neighbours,
        "embedding_dim": trained.embedding_dim,
        "train_events": [setting.train.start, setting.train.stop],
    }
    return EmbeddingGraphBuilder(model, config.radius, config.max_neighbours), record
