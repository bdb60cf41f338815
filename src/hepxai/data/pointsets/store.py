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
from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
from torch_geometric.data.storage import GlobalStorage

from hepxai.data.graph_list import GraphList
from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.torch_files import load_torch
from hepxai.io.yaml_files import read_yaml

DATASET_FILE = "dataset.yaml"
DATA_CLASSES = (Data, DataEdgeAttr, DataTensorAttr, GlobalStorage)  # what a split file may hold: graphs
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
        with atomic_path(folder / f"{name}.pt") as temporary:
            torch.save(list(graphs), temporary)
    record = {
        "kind": kind,
        "splits": {name: len(graphs) for name, graphs in splits.items()},
        "positives": {name: sum(int(g.y.reshape(-1)[0]) for g in graphs) for name, graphs in splits.items()},
        **dict(meta or {}),
    }
    write_text(folder / DATASET_FILE, yaml.safe_dump(record, sort_keys=False))
    return folder


def pointset_info(folder: str | Path) -> dict[str, Any]:
    """The ``dataset.yaml`` of ``folder``; one-line error when the folder is not a point-set dataset."""
    path = Path(folder) / DATASET_FILE
    if not path.is_file():
        msg = f"{folder}: not a point-set dataset (no {DATASET_FILE})"
        raise InputError(msg)
    info = read_yaml(path)
    if not isinstance(info.get("kind"), str):
        msg = f"{path}: field 'kind' is missing"
        raise InputError(msg)
    if not isinstance(info.get("splits", {}), dict):
        msg = f"{path}: field 'splits' is not a mapping of split names to sizes"
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
    graphs = load_torch(path, f"{split!r} split", allowed=DATA_CLASSES)
    if not isinstance(graphs, list) or not all(isinstance(graph, Data) for graph in graphs):
        msg = f"{path}: not a point-set split (expected a list of graphs, got {type(graphs).__name__})"
        raise InputError(msg)
    if not graphs:
        msg = f"{path}: split {split!r} is empty"
        raise InputError(msg)
    _check_samples(graphs, path)
    expected = info.get("splits", {}).get(split)
    if expected is not None and expected != len(graphs):
        msg = (
            f"{Path(folder) / DATASET_FILE}: field 'splits.{split}' is {expected}, "
            f"but {path.name} holds {len(graphs)} samples (a split file replaced or from another dataset)"
        )
        raise InputError(msg)
    return GraphList.of(graphs)


def _check_samples(graphs: list[Data], path: Path) -> None:
    """Every sample has points (``x``, ``pos``: finite, one row per point) and a label ``y``."""
    for number, graph in enumerate(graphs):
        for name in ("x", "pos", "y"):
            if not isinstance(getattr(graph, name, None), torch.Tensor):
                msg = f"{path}: field '{name}' is missing in sample {number}"
                raise InputError(msg)
        if len(graph.x) != len(graph.pos):
            msg = f"{path}: field 'x' has {len(graph.x)} rows in sample {number}, 'pos' {len(graph.pos)}"
            raise InputError(msg)
    for name in ("x", "pos"):
        values = torch.cat([getattr(graph, name).reshape(-1) for graph in graphs])
        if values.is_floating_point() and not values.isfinite().all():
            bad = values[~values.isfinite()][0].item()
            msg = f"{path}: field '{name}' holds {bad}, expected finite values"
            raise InputError(msg)
