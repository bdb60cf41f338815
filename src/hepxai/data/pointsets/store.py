"""A point-set dataset on disk: one folder, a ``dataset.yaml`` that names its kind, one file per split.

Every dataset command (synthetic clouds, ActsTrack-like hits, molecules) writes this layout and every
training or benchmark command reads it, so a folder of another kind or an empty split stops with one line
that names the folder and the field instead of a shape error deep in a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from torch_geometric.data import Data

from hepxai.data.graph_list import GraphList
from hepxai.errors import InputError

DATASET_FILE = "dataset.yaml"
SPLITS = ("train", "valid", "test")


def save_pointset(
    folder: str | Path, kind: str, splits: Mapping[str, list[Data]], meta: Mapping[str, Any] | None = None
) -> Path:
    """Write ``splits`` (name → graphs) and a ``dataset.yaml`` with ``kind``, split sizes and ``meta``.

    The split files are written first and ``dataset.yaml`` last: a folder with a ``dataset.yaml`` is complete.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, graphs in splits.items():
        torch.save(list(graphs), folder / f"{name}.pt")
    record = {
        "kind": kind,
        "splits": {name: len(graphs) for name, graphs in splits.items()},
        "positives": {name: sum(int(g.y.reshape(-1)[0]) for g in graphs) for name, graphs in splits.items()},
        **dict(meta or {}),
    }
    (folder / DATASET_FILE).write_text(yaml.safe_dump(record, sort_keys=False))
    return folder


def pointset_info(folder: str | Path) -> dict[str, Any]:
    """The ``dataset.yaml`` of ``folder``; one-line error when the folder is not a point-set dataset."""
    path = Path(folder) / DATASET_FILE
    if not path.is_file():
        msg = f"{folder}: not a point-set dataset (no {DATASET_FILE})"
        raise InputError(msg)
    info = yaml.safe_load(path.read_text()) or {}
    if "kind" not in info:
        msg = f"{path}: field 'kind' is missing"
        raise InputError(msg)
    return info


def load_pointset(folder: str | Path, split: str, *, kind: str | None = None) -> GraphList:
    """The graphs of one split; checks the dataset's kind (when given) and that the split is not empty."""
    info = pointset_info(folder)
    if kind is not None and info["kind"] != kind:
        msg = f"{Path(folder) / DATASET_FILE}: field 'kind' is {info['kind']!r}, expected {kind!r}"
        raise InputError(msg)
    path = Path(folder) / f"{split}.pt"
    if not path.is_file():
        msg = f"{folder}: split {split!r} is missing (has {', '.join(info.get('splits', {}))})"
        raise InputError(msg)
    graphs = torch.load(path, weights_only=False)
    if not graphs:
        msg = f"{path}: split {split!r} is empty"
        raise InputError(msg)
    return GraphList.of(graphs)
