"""The DGCNN: permutation invariance, node masks equal to dropping points, eval-mode dropout, checkpoints,
the fast forward equal to the plain one."""

import pytest
import torch
from torch_geometric.data import Batch, Data

from hepxai.errors import InputError
from hepxai.explain.forward import drop_tracks, masked_batch
from hepxai.models import DGCNN, build_model, load_checkpoint, model_kinds, save_checkpoint

from ..explain.toys import random_clouds, random_dgcnn

VARIANTS = [("mean", "sum", 4), ("max", "sum", 4), ("mean", "mean", 0), ("max", "mean", 0)]


def shuffled(batch: Batch, seed: int) -> Batch:
    """The same clouds with their points, and their edges, stored in another order."""
    generator = torch.Generator().manual_seed(seed)
    clouds = []
    for cloud in batch.to_data_list():
        points = torch.randperm(cloud.num_nodes, generator=generator)
        new_index = torch.empty_like(points)
        new_index[points] = torch.arange(cloud.num_nodes)
        edges = torch.randperm(cloud.edge_index.shape[1], generator=generator)
        clouds.append(
            Data(
                x=cloud.x[points],
                pos=cloud.pos[points],
                edge_index=new_index[cloud.edge_index[:, edges]],
                edge_attr=cloud.edge_attr[edges],
            )
        )
    return Batch.from_data_list(clouds)


@pytest.mark.parametrize(("aggregation", "pooling", "edge_features"), VARIANTS)
def test_point_and_edge_order_change_no_logit(aggregation, pooling, edge_features):
    model = random_dgcnn(0, aggregation=aggregation, pooling=pooling, edge_features=edge_features)
    batch = random_clouds(1, [7, 1, 30, 12])
    with torch.no_grad():
        logits = model(batch)
        torch.testing.assert_close(model(shuffled(batch, 2)), logits, rtol=1e-12, atol=1e-12)
    assert logits.shape == (4, 1)
    assert logits.std() > 1e-3  # the clouds are told apart: the check above is not on a constant


@pytest.mark.parametrize(("aggregation", "pooling", "edge_features"), VARIANTS)
def test_a_zero_one_node_mask_equals_dropping_the_points(aggregation, pooling, edge_features):
    model = random_dgcnn(3, aggregation=aggregation, pooling=pooling, edge_features=edge_features)
    batch = random_clouds(4, [9, 1, 25, 6])
    keep = torch.rand(batch.num_nodes, generator=torch.Generator().manual_seed(5)) < 0.6
    keep[batch.ptr[:-1]] = True  # every cloud keeps a point
    keep[batch.ptr[1] : batch.ptr[2]] = False  # except the one-point cloud, which loses it
    with torch.no_grad():
        masked = model(masked_batch(batch, keep.double()))
        dropped = model(drop_tracks(batch, keep))
        everything = model(batch)
    torch.testing.assert_close(masked, dropped, rtol=1e-12, atol=1e-12)
    assert (masked - everything).abs().max() > 1e-3


@pytest.mark.parametrize("aggregation", ["mean", "max"])
def test_soft_masks_are_differentiable(aggregation):
    model = random_dgcnn(6, aggregation=aggregation)
    batch = random_clouds(7, [8, 5])
    mask = torch.full((batch.num_nodes,), 0.7, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(model(masked_batch(batch, mask)).sum(), mask)
    assert torch.isfinite(gradient).all()
    assert (gradient != 0).sum() > batch.num_nodes // 2


@pytest.mark.parametrize(("aggregation", "pooling", "edge_features"), VARIANTS)
def test_the_fast_forward_computes_the_plain_forward(aggregation, pooling, edge_features):
    model = random_dgcnn(10, aggregation=aggregation, pooling=pooling, edge_features=edge_features)
    batch = random_clouds(11, [9, 1, 20])
    batch.edge_weight = torch.rand(batch.edge_index.shape[1], generator=torch.Generator().manual_seed(12))
    with torch.no_grad():
        plain = model(batch)
        torch.testing.assert_close(model.fast_forward(batch), plain, rtol=1e-12, atol=1e-12)
    assert plain.std() > 1e-3


def test_dropout_is_the_identity_in_eval_mode():
    model = random_dgcnn(8, dropout=0.5)
    without = DGCNN(**{**model.config, "dropout": 0.0}).double()
    without.load_state_dict(model.state_dict())
    batch = random_clouds(9, [10, 4])
    with torch.no_grad():
        torch.testing.assert_close(model(batch), without.eval()(batch), rtol=0, atol=0)
        model.train()
        assert not torch.equal(model(batch), model(batch))  # dropout is really there in training


def test_checkpoint_round_trip(tmp_path):
    assert "dgcnn" in model_kinds()
    model = random_dgcnn(10, aggregation="max", pooling="mean").float()  # checkpoints load in float32
    batch = random_clouds(11, [6, 13])
    batch.x, batch.edge_attr = batch.x.float(), batch.edge_attr.float()
    save_checkpoint(tmp_path / "dgcnn.pt", model)
    loaded = load_checkpoint(tmp_path / "dgcnn.pt")
    assert isinstance(loaded, DGCNN)
    assert loaded.config == model.config
    assert loaded.classes == ("signal",)
    assert loaded.default_target == "signal"
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch), rtol=0, atol=0)


def test_bad_input_and_config():
    model = random_dgcnn(12)
    batch = random_clouds(13, [5])
    with pytest.raises(ValueError, match="expects 3 features per point"):
        model(random_clouds(13, [5], num_features=2))
    batch.edge_attr = batch.edge_attr[:, :2]
    with pytest.raises(ValueError, match="expects edge_attr of shape"):
        model(batch)
    with pytest.raises(ValueError, match="aggregation must be one of mean, max"):
        DGCNN(aggregation="sum")
    with pytest.raises(InputError, match="bad config"):
        build_model("dgcnn", width=3)


def test_named_modules_of_the_interface():
    model = DGCNN(num_features=5, hidden=16, num_layers=2, classes=("background", "signal"))
    assert model.submodule(model.input_norm_name) is model.input_norm
    assert model.submodule(model.embedding_name) is model.layers[1]
    assert model.default_target == "signal"
    batch = random_clouds(14, [4, 3], num_features=5)
    assert model.double().eval()(batch).shape == (2, 2)


def test_checkpoints_with_the_old_layer_names_keep_loading(tmp_path):
    # Before DGCNN was a PointBackbone kind its EdgeConv layers were `convs.{i}` (and it had no encoder):
    # a checkpoint written then holds `convs.0.mlp.0.weight`, ... and no `layers.*` key.
    model = random_dgcnn(16, aggregation="max").float()
    old_state = {key.replace("layers.", "convs.", 1): value for key, value in model.state_dict().items()}
    assert "convs.0.mlp.0.weight" in old_state
    assert not any(key.startswith(("layers.", "encoder.")) for key in old_state)
    torch.save(  # the config's keys have not changed
        {"format": "hepxai-checkpoint-v1", "kind": "dgcnn", "config": model.config, "state_dict": old_state},
        tmp_path / "old.pt",
    )
    loaded = load_checkpoint(tmp_path / "old.pt")
    batch = random_clouds(17, [6, 9])
    batch.x, batch.edge_attr = batch.x.float(), batch.edge_attr.float()
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch), rtol=0, atol=0)
