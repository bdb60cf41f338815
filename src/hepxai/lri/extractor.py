"""What every LRI-style method shares: the backbone's node embedding, a per-point MLP head on it, seeded
noise, and the per-graph share of a per-point regulariser."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.gradients import embedding_module
from hepxai.models.dropout import Dropout
from hepxai.models.registry import GraphModel


class Extractor(nn.Module):
    """``MLP(z_v)``: per point, ``width → 2·width → width → outputs`` with BatchNorm, ReLU and dropout.

    The head that turns the backbone's embedding of a point into the parameters of its noise (the LRI
    code's extractor has this shape).

    Args:
        width: Channels of the node embedding.
        outputs: Numbers per point (1: a keep logit; 2 + d²: a covariance).
        dropout: After every ReLU (0.2 in the LRI paper).
    """

    def __init__(self, width: int, outputs: int, *, dropout: float = 0.2) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, 2 * width),
            nn.BatchNorm1d(2 * width),
            nn.ReLU(),
            Dropout(dropout),
            nn.Linear(2 * width, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            Dropout(dropout),
            nn.Linear(width, outputs),
        )

    def forward(self, embedding: Tensor) -> Tensor:
        """``[num_points, outputs]`` from ``[num_points, width]``."""
        return self.layers(embedding)


def node_embedding(model: GraphModel, batch: Batch) -> Tensor:
    """``[num_points, width]`` the model's last node embedding on ``batch`` (its ``embedding_name`` module).

    One forward pass of the model, gradients kept: the noise generator and the backbone share the encoder,
    as in the LRI experiments ("one encoder"), so the generator's loss also trains the backbone.
    """
    captured: list[Tensor] = []

    def keep(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor | tuple[Tensor, ...]) -> None:
        captured.append(output[0] if isinstance(output, tuple) else output)

    handle = embedding_module(model).register_forward_hook(keep)
    try:
        model.fast_forward(batch)
        if not captured:  # a fast form that never runs the module: the HIN's dense blocks in eval mode
            model(batch)
    finally:
        handle.remove()
    return captured[-1]


def per_graph_share(values: Tensor, batch: Batch) -> Tensor:
    """``[num_graphs]`` each graph's sum of the per-point ``values``, scaled so their mean over graphs is the
    mean over all points of the batch (the LRI normalisation: a regulariser averaged over points)."""
    num_graphs = int(batch.num_graphs)
    total = scatter(values, batch.batch, dim=0, dim_size=num_graphs, reduce="sum")
    return total * num_graphs / values.shape[0]


class SeededNoise:
    """A random generator reseeded from ``(seed, epoch)`` when the epoch changes, so a resumed run draws the
    same noise as one that was never interrupted."""

    def __init__(self, seed: int) -> None:
        self.seed, self.epoch = seed, None
        self.generator = torch.Generator()

    def at(self, epoch: int) -> torch.Generator:
        if epoch != self.epoch:
            self.generator.manual_seed(self.seed * 1_000_003 + epoch)
            self.epoch = epoch
        return self.generator

    def normal(self, shape: tuple[int, ...], epoch: int, like: Tensor) -> Tensor:
        return torch.randn(shape, generator=self.at(epoch), dtype=like.dtype).to(like.device)

    def uniform(self, shape: tuple[int, ...], epoch: int, like: Tensor) -> Tensor:
        return torch.rand(shape, generator=self.at(epoch), dtype=like.dtype).to(like.device)
