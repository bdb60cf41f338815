"""The synthetic point clouds: reproducible, balanced, and the label carried by the planted track only."""

import pytest
import torch

from hepxai.data.graphs import distance_and_direction, knn_edge_index
from hepxai.data.pointsets import FEATURE_NAMES, synthetic_point_clouds
from hepxai.data.pointsets.synthetic import TRACK_SPACING


def test_same_seed_same_clouds_other_seed_other_clouds():
    first, again, other = (synthetic_point_clouds(6, seed=s) for s in (3, 3, 4))
    for a, b in zip(first, again, strict=True):
        for key in ("x", "pos", "edge_index", "edge_attr", "y", "node_truth"):
            assert torch.equal(a[key], b[key])
    assert not torch.equal(first[0].pos[:3], other[0].pos[:3])


def test_attributes_and_the_graph():
    for cloud in synthetic_point_clouds(10, seed=0):
        n = cloud.num_nodes
        assert 20 <= n <= 40
        assert cloud.x.shape == (n, len(FEATURE_NAMES))
        assert cloud.x.dtype == torch.float32
        assert cloud.pos.shape == (n, 3)
        assert cloud.pos.abs().max() <= 1.0
        assert cloud.node_truth.dtype == torch.bool
        assert cloud.y.shape == (1,)
        assert torch.equal(cloud.edge_index, knn_edge_index(cloud.pos, None, 5, loop=True))
        assert torch.equal(cloud.edge_attr, distance_and_direction(cloud.pos, cloud.edge_index))


def test_the_label_needs_hot_points_on_the_track():
    clouds = synthetic_point_clouds(200, seed=1)
    labels = torch.cat([c.y for c in clouds])
    assert int(labels.sum()) == 100
    for cloud in clouds:
        energy, truth = cloud.x[:, 0], cloud.node_truth
        num_hot = int((energy >= 1).sum())
        if int(cloud.y) == 0:
            assert not truth.any()
            assert num_hot % 2 == 0
            assert 8 <= num_hot <= 12
            continue
        track = cloud.pos[truth]
        assert 4 <= len(track) <= 6
        assert num_hot == 2 * len(track)
        assert (energy[truth] >= 1).all()
        ordered = track[torch.argsort(track @ (track[-1] - track[0]))]  # along the line
        steps = ordered[1:] - ordered[:-1]
        spacing = torch.full((len(steps),), TRACK_SPACING)
        torch.testing.assert_close(steps.norm(dim=1), spacing, atol=1e-5, rtol=0)
        torch.testing.assert_close(steps, steps[:1].expand_as(steps), atol=1e-5, rtol=0)  # collinear
    positions = torch.cat([torch.nonzero(c.node_truth)[:, 0].float() / c.num_nodes for c in clouds])
    assert 0.35 < positions.mean() < 0.65  # stored in random order, not first or last


def test_bad_sizes():
    with pytest.raises(ValueError, match="cannot hold a track"):
        synthetic_point_clouds(2, points=(10, 20))
