"""Explainers on point clouds: GradGeo against finite differences, edge-attribute relevance, point scores."""

from __future__ import annotations

import copy
import gc

import pytest
import torch
from torch_geometric.data import Batch

from hepxai.data.graph_list import GraphList
from hepxai.data.graphs import distance_and_direction, unit_direction
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.explain import Explanation, GradGeo, GradientTimesInput, point_scores
from hepxai.models import DGCNN


@pytest.fixture
def clouds() -> Batch:
    batch = GraphList.of(synthetic_point_clouds(3, seed=5)).to_batch()
    for key in ("x", "pos", "edge_attr"):
        batch[key] = batch[key].double()
    return batch


@pytest.fixture
def model() -> DGCNN:
    return DGCNN(num_features=3, hidden=8, num_layers=2).double().eval()


def _logit_at(model: DGCNN, batch: Batch, pos: torch.Tensor) -> torch.Tensor:
    moved = copy.copy(batch)
    moved.pos, moved.edge_attr = pos, distance_and_direction(pos, batch.edge_index)
    return model(moved)[:, 0]


def test_gradgeo_is_the_norm_of_the_position_gradient(model: DGCNN, clouds: Batch) -> None:
    explanation = GradGeo(model).explain(clouds)
    assert explanation.node.shape == (clouds.num_nodes, 1)
    point, step = 7, 1e-6
    graph = int(clouds.batch[point])
    gradient = torch.zeros(3, dtype=torch.float64)
    for axis in range(3):
        shifted = [clouds.pos.clone(), clouds.pos.clone()]
        shifted[0][point, axis] += step
        shifted[1][point, axis] -= step
        with torch.no_grad():
            up, down = (_logit_at(model, clouds, pos)[graph] for pos in shifted)
        gradient[axis] = (up - down) / (2 * step)
    torch.testing.assert_close(explanation.node[point, 0], gradient.norm(), rtol=1e-4, atol=1e-7)


def test_gradgeo_follows_graphs_of_unit_directions(model: DGCNN, clouds: Batch) -> None:
    """ActsTrack's graphs are built on ``pos / ‖pos‖``: the gradient reaches the hits through that map."""
    clouds.edge_attr = distance_and_direction(unit_direction(clouds.pos), clouds.edge_index)
    explanation = GradGeo(model).explain(clouds)
    point, step = 4, 1e-6
    graph = int(clouds.batch[point])

    def logit(pos: torch.Tensor) -> torch.Tensor:
        return _logit_at(model, clouds, unit_direction(pos))[graph]

    gradient = torch.zeros(3, dtype=torch.float64)
    with torch.no_grad():
        for axis in range(3):
            shifted = [clouds.pos.clone(), clouds.pos.clone()]
            shifted[0][point, axis] += step
            shifted[1][point, axis] -= step
            gradient[axis] = (logit(shifted[0]) - logit(shifted[1])) / (2 * step)
        radial = clouds.pos.clone()
        radial[point] *= 1.5  # along its direction: the graph's input does not move
        torch.testing.assert_close(logit(radial), logit(clouds.pos))
    assert explanation.node[point, 0] > 0
    torch.testing.assert_close(explanation.node[point, 0], gradient.norm(), rtol=1e-4, atol=1e-7)


def test_gradgeo_refuses_edge_attributes_it_cannot_follow(model: DGCNN, clouds: Batch) -> None:
    clouds.edge_attr = clouds.edge_attr * 2
    with pytest.raises(ValueError, match="edge_attr is not"):
        GradGeo(model).explain(clouds)


def test_gradient_times_input_includes_the_edge_attributes(model: DGCNN, clouds: Batch) -> None:
    explanation = GradientTimesInput(model).explain(clouds)
    assert explanation.edge_attr is not None
    assert explanation.edge_attr.shape == clouds.edge_attr.shape
    edges = clouds.edge_attr.clone().requires_grad_(True)
    moved = copy.copy(clouds)
    moved.edge_attr = edges
    (grad,) = torch.autograd.grad(model(moved).sum(), edges)
    torch.testing.assert_close(explanation.edge_attr, clouds.edge_attr * grad)


def test_point_scores_split_edge_relevance_between_both_ends() -> None:
    explanation = Explanation(
        node=torch.tensor([[1.0, -1.0], [0.0, 2.0], [0.5, 0.0]]),
        batch=torch.zeros(3, dtype=torch.long),
        edge_attr=torch.tensor([[1.0, -1.0], [-3.0, 1.0], [0.0, 0.0]]),
    )
    edge_index = torch.tensor([[0, 1, 2], [1, 1, 2]])  # 0 → 1, a self loop of 1, a self loop of 2
    # point 0: |1| + |−1| + half of edge 0 (2 / 2) = 3; point 1: 2 + 1 (edge 0) + 2 + 2 (its loop,
    # both ends) = 7; point 2: 0.5.
    torch.testing.assert_close(point_scores(explanation, edge_index), torch.tensor([3.0, 7.0, 0.5]))


def test_repeated_gradgeo_frees_its_graph(model: DGCNN, clouds: Batch) -> None:
    from .test_memory import _GraphTensors

    graph = _GraphTensors()
    with graph:
        for _ in range(3):
            explanation = GradGeo(model).explain(clouds)
            del explanation
    gc.collect()
    assert graph.references
    assert not graph.alive()
