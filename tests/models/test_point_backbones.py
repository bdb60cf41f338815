"""The LRI paper's backbones (DGCNN, EGNN, Point Transformer): one graph rule, invariances, edge weights,
LRP conservation, a few training steps, checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from hepxai.data.graph_list import GraphList
from hepxai.data.graphs import distance_and_direction, knn_edge_index
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.explain import LRP
from hepxai.explain.forward import drop_tracks, masked_batch
from hepxai.models import build_model, load_checkpoint, save_checkpoint
from hepxai.models.point_graph import point_graph, with_point_graph
from hepxai.models.point_transformer import edge_softmax

KINDS = ["dgcnn", "egnn", "point_transformer"]


def random_backbone(kind: str, seed: int, **config) -> torch.nn.Module:
    """A small float64 backbone with random weights and BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build_model(kind, num_features=3, hidden=8, num_layers=2, head=(12, 6), **config).double()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_(0.0, 0.5)
                module.running_var.uniform_(0.3, 3.0)
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3)
    return model.eval()


def clouds(seed: int, sizes: list[int]) -> Batch:
    """Points only (no graph): float64 features N(0, 2²) and uniform positions."""
    generator = torch.Generator().manual_seed(seed)
    return Batch.from_data_list(
        [
            Data(
                x=2 * torch.randn(n, 3, generator=generator, dtype=torch.float64),
                pos=torch.rand(n, 3, generator=generator, dtype=torch.float64),
            )
            for n in sizes
        ]
    )


def test_the_graph_is_built_from_pos_or_taken_from_the_batch():
    batch = clouds(0, [7, 12])
    built = point_graph(batch)
    expected = knn_edge_index(batch.pos, batch.batch, 5, loop=True)
    assert torch.equal(built.edge_index, expected)
    torch.testing.assert_close(built.edge_attr, distance_and_direction(batch.pos, expected))
    assert built.edge_weight is None
    given = with_point_graph(batch, k=3)
    given.edge_weight = torch.rand(given.edge_index.shape[1], dtype=torch.float64)
    taken = point_graph(given)
    assert taken.edge_index is given.edge_index
    assert taken.edge_weight is given.edge_weight
    assert taken.edge_index.shape[1] == (3 + 1) * 19  # k = 3 neighbours and the self loop per point
    with pytest.raises(ValueError, match="edge_attr but no edge_index"):
        point_graph(Batch(x=batch.x, edge_attr=built.edge_attr))
    with pytest.raises(ValueError, match="expects edge_attr of shape"):
        point_graph(given, width=2, owner="test")


@pytest.mark.parametrize("kind", KINDS)
def test_logits_ignore_the_order_of_points_and_follow_the_graph_rule(kind):
    model = random_backbone(kind, 1)
    batch = clouds(2, [9, 1, 17, 6])
    order = torch.randperm(batch.num_nodes, generator=torch.Generator().manual_seed(3))
    shuffled = Batch(x=batch.x[order], pos=batch.pos[order], batch=batch.batch[order])
    shuffled._num_graphs = batch.num_graphs
    with torch.no_grad():
        logits = model(batch)
        torch.testing.assert_close(model(shuffled), logits, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(model(with_point_graph(batch)), logits, rtol=0, atol=0)
    assert logits.shape == (4, 1)
    assert logits.std() > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_edge_weights_reach_the_messages(kind):
    model = random_backbone(kind, 4)
    batch = with_point_graph(clouds(5, [10, 8]))
    source, target = batch.edge_index
    with torch.no_grad():
        plain = model(batch)
        batch.edge_weight = (source == target).double()  # only the self loops carry messages
        alone = model(batch)
        batch.edge_weight = torch.ones_like(batch.edge_weight)
        ones = model(batch)
    assert (alone - plain).abs().min() > 1e-4
    torch.testing.assert_close(ones, plain, rtol=1e-12, atol=1e-12)


FAST_CASES = [*((kind, {}) for kind in KINDS), ("egnn", {"distance_only": True})]


@pytest.mark.parametrize(("kind", "config"), FAST_CASES)
def test_the_fast_forward_trains_and_predicts_like_the_plain_forward(kind, config):
    """Eval mode: the same logits. Training mode (batch statistics, dropout drawn in the same order): the
    same loss and gradients."""
    model = random_backbone(kind, 13, **config)
    batch = with_point_graph(clouds(14, [12, 1, 15]))
    generator = torch.Generator().manual_seed(15)
    batch.edge_weight = torch.rand(batch.edge_index.shape[1], generator=generator, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model.fast_forward(batch), model(batch), rtol=1e-12, atol=1e-12)
    model.train()
    gradients = []
    for forward in (model, model.fast_forward):
        torch.manual_seed(16)
        model.zero_grad()
        forward(batch).square().sum().backward()
        gradients.append([parameter.grad.clone() for parameter in model.parameters()])
    for fast, plain in zip(*gradients, strict=True):
        torch.testing.assert_close(fast, plain, rtol=1e-10, atol=1e-12)
    assert max(gradient.abs().max() for gradient in gradients[0]) > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_a_zero_one_node_mask_equals_dropping_the_points(kind):
    model = random_backbone(kind, 6)
    batch = with_point_graph(clouds(7, [9, 1, 25, 6]))
    keep = torch.rand(batch.num_nodes, generator=torch.Generator().manual_seed(8)) < 0.6
    keep[batch.ptr[:-1]] = True
    keep[batch.ptr[1] : batch.ptr[2]] = False  # the one-point cloud loses its point
    with torch.no_grad():
        masked = model(masked_batch(batch, keep.double()))
        dropped = model(drop_tracks(batch, keep))
    torch.testing.assert_close(masked, dropped, rtol=1e-12, atol=1e-12)


def test_edge_softmax_is_a_weighted_softmax_per_target():
    score = torch.tensor([[1.0], [2.0], [0.5], [3.0]], dtype=torch.float64)
    target = torch.tensor([0, 0, 0, 1])
    weight = torch.tensor([1.0, 0.5, 0.0, 0.0], dtype=torch.float64)
    alpha = edge_softmax(score, target, 2, weight)[:, 0]
    # target 0: e¹ and 0.5·e² share, the third edge weighs 0; target 1 has no weight left: 0
    expected_first = torch.exp(torch.tensor(1.0, dtype=torch.float64))
    expected_second = 0.5 * torch.exp(torch.tensor(2.0, dtype=torch.float64))
    total = expected_first + expected_second
    torch.testing.assert_close(
        alpha, torch.stack([expected_first / total, expected_second / total, *[alpha.new_zeros(())] * 2])
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_lrp_conserves_relevance(kind, input_space):
    model = random_backbone(kind, 9)
    batch = with_point_graph(clouds(10, [11, 1, 6]))
    explanation = LRP(model, input=input_space).explain(batch)
    num_graphs = batch.num_graphs
    node = scatter(explanation.node.sum(1), explanation.batch, dim=0, dim_size=num_graphs, reduce="sum")
    edge_graph = batch.batch[batch.edge_index[1]]
    edge = scatter(explanation.edge_attr.sum(1), edge_graph, dim=0, dim_size=num_graphs, reduce="sum")
    with torch.no_grad():
        torch.testing.assert_close(explanation.logit, model(batch)[:, 0], rtol=1e-12, atol=1e-12)
    assert explanation.absorbed.abs().max() > 1e-4
    assert explanation.edge_attr.abs().max() > 1e-6  # the geometry gets relevance
    torch.testing.assert_close(node + edge + explanation.absorbed, explanation.logit, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_training_steps_lower_the_loss_and_checkpoints_round_trip(kind, tmp_path):
    data = synthetic_point_clouds(64, seed=11)
    for cloud in data:  # points only, as the datasets on disk
        del cloud.edge_index, cloud.edge_attr
    batch = GraphList.of(data).to_batch()
    torch.manual_seed(12)
    model = build_model(kind, num_features=3, hidden=16, num_layers=2)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_function = torch.nn.BCEWithLogitsLoss()
    model.train()
    losses = []
    for _ in range(10):
        optimiser.zero_grad()
        loss = loss_function(model(batch)[:, 0], batch.y.float())
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-3:]) / 3 < 0.8 * losses[0]  # measured: 0.42 (DGCNN), 0.70 (EGNN), 0.55 (PT)
    model.eval()
    save_checkpoint(tmp_path / "model.pt", model)
    loaded = load_checkpoint(tmp_path / "model.pt")
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch), rtol=0, atol=0)


def test_egnn_with_distances_only_ignores_rotations():
    model = random_backbone("egnn", 13, distance_only=True)
    batch = clouds(14, [12, 7])
    rotation, _ = torch.linalg.qr(
        torch.randn(3, 3, generator=torch.Generator().manual_seed(15), dtype=torch.float64)
    )
    turned = Batch(x=batch.x, pos=batch.pos @ rotation.T, batch=batch.batch)
    turned._num_graphs = batch.num_graphs
    with torch.no_grad():
        torch.testing.assert_close(model(turned), model(batch), rtol=1e-9, atol=1e-9)
        assert (random_backbone("egnn", 13)(turned) - random_backbone("egnn", 13)(batch)).abs().max() > 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_unit_directions_build_the_graph_on_the_sphere(kind):
    model = random_backbone(kind, 16, unit_directions=True)
    batch = clouds(17, [10, 6])
    batch.pos = batch.pos - 0.5  # around the origin
    stretched = batch.clone()
    stretched.pos = batch.pos * torch.empty(batch.num_nodes, 1, dtype=torch.float64).uniform_(0.5, 3.0)
    on_sphere = batch.clone()
    on_sphere.pos = batch.pos / batch.pos.norm(dim=1, keepdim=True)
    plain = random_backbone(kind, 16)
    with torch.no_grad():
        logits = model(batch)
        torch.testing.assert_close(model(stretched), logits, rtol=1e-9, atol=1e-9)  # only directions count
        torch.testing.assert_close(plain(on_sphere), logits, rtol=1e-12, atol=1e-12)
        assert (plain(batch) - logits).abs().max() > 1e-6
