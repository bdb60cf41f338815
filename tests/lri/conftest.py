"""Tiny synthetic point clouds (the project's own generator) as batches and as a dataset folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch_geometric.data import Batch

from hepxai.data.graph_list import GraphList
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.data.pointsets.store import save_pointset
from hepxai.models import DGCNN


def clouds(num: int, seed: int) -> list:
    """Synthetic clouds stored as the dataset commands store them: positions, no graph."""
    graphs = synthetic_point_clouds(num, seed=seed)
    for graph in graphs:
        del graph.edge_index, graph.edge_attr
    return graphs


@pytest.fixture
def batch() -> Batch:
    return GraphList.of(synthetic_point_clouds(6, seed=3)).to_batch()


@pytest.fixture
def model() -> DGCNN:
    return DGCNN(num_features=3, hidden=16, num_layers=2)


@pytest.fixture
def dataset_folder(tmp_path: Path) -> Path:
    """A synthetic dataset folder: 16 training, 8 validation and 8 test clouds."""
    return save_pointset(
        tmp_path / "synthetic",
        "synthetic",
        {"train": clouds(16, 1), "valid": clouds(8, 2), "test": clouds(8, 3)},
    )
