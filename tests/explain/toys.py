"""Tiny models, jets and point clouds for the tests of the explainers, in float64 with fixed seeds."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from hepxai.data import Jets
from hepxai.data.graphs import distance_and_direction, knn_edge_index
from hepxai.models import DGCNN, InteractionNetwork

NUM_FEATURES = 5
FEATURE_NAMES = ("track_pt", "track_dxysig", "track_etarel", "track_phirel", "track_quality")


def make_jets(num_tracks: list[int], seed: int = 0) -> Jets:
    rng = np.random.default_rng(seed)
    return Jets(
        features=rng.normal(size=(sum(num_tracks), NUM_FEATURES)),
        num_tracks=np.array(num_tracks),
        label=np.ones(len(num_tracks), dtype=np.int64),
        feature_names=FEATURE_NAMES,
    )


def tiny_jets() -> Batch:
    """Four jets of 2, 5, 3 and 8 tracks."""
    return make_jets([2, 5, 3, 8]).to_batch()


def tiny_model() -> InteractionNetwork:
    """A random HIN with non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(1)
    model = InteractionNetwork(num_features=NUM_FEATURES, hidden=8).double()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def planted_track_model() -> tuple[InteractionNetwork, Batch, torch.Tensor]:
    """A HIN whose H logit depends only on one planted track per jet, and jets with one such track each.

    Feature 0 is positive on the planted track and negative on every other. Only ``node_mlp_2`` reads the
    track's own features, and only feature 0 through a ReLU, so every other track contributes exactly 0:
    ``logit_H = mean over the jet's tracks of ReLU(x_0) = x_0(planted) / n``. Every BatchNorm is the identity.
    """
    model = InteractionNetwork(num_features=NUM_FEATURES, hidden=4).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.weight.fill_(1.0)
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.eps = 0.0
        model.node_mlp_2[0].weight[0, 0] = 1.0
        model.node_mlp_2[3].weight[0, 0] = 1.0
        model.global_mlp[0].weight[0, 0] = 1.0
        model.global_mlp[3].weight[1, 0] = 1.0
    num_tracks = [4, 7, 3, 10, 6]
    jets = make_jets(num_tracks, seed=2)
    features = jets.features
    features[:, 0] = -np.abs(features[:, 0]) - 0.1
    generator = np.random.default_rng(3)
    planted_index = jets.offsets + generator.integers(0, num_tracks)
    features[planted_index, 0] = generator.uniform(0.5, 2.0, size=len(num_tracks))
    return model.eval(), jets.to_batch(), torch.from_numpy(planted_index)


def random_dgcnn(
    seed: int,
    *,
    num_features: int = 3,
    hidden: int = 8,
    num_layers: int = 3,
    edge_features: int = 4,
    aggregation: str = "mean",
    pooling: str = "sum",
    bias: bool = True,
    dropout: float = 0.2,
) -> DGCNN:
    """A float64 DGCNN with random weights and random BatchNorm statistics, in eval mode.

    ``bias=False`` zeroes every Linear bias, BatchNorm shift and running mean: a model without any bias.
    """
    torch.manual_seed(seed)
    model = DGCNN(
        num_features=num_features,
        hidden=hidden,
        num_layers=num_layers,
        edge_features=edge_features,
        aggregation=aggregation,
        pooling=pooling,
        dropout=dropout,
    ).double()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_(0.0, 0.5 if bias else 0.0)
                module.running_var.uniform_(0.3, 3.0)
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3 if bias else 0.0)
            elif isinstance(module, torch.nn.Linear) and not bias:
                module.bias.zero_()
    return model.eval()


def random_clouds(seed: int, num_points: list[int], num_features: int = 3, *, k: int = 5) -> Batch:
    """Point clouds of the given sizes in float64: N(0, 2²) features, uniform positions, kNN + self loops."""
    generator = torch.Generator().manual_seed(seed)
    clouds = []
    for count in num_points:
        pos = torch.rand(count, 3, generator=generator, dtype=torch.float64)
        edge_index = knn_edge_index(pos, None, k, loop=True)
        clouds.append(
            Data(
                x=2 * torch.randn(count, num_features, generator=generator, dtype=torch.float64),
                pos=pos,
                edge_index=edge_index,
                edge_attr=distance_and_direction(pos, edge_index),
            )
        )
    return Batch.from_data_list(clouds)
