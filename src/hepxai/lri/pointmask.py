"""PointMask (Taghanaki et al., 2020, https://arxiv.org/abs/2007.04525), as the LRI paper adapts it.

An inherently interpretable baseline trained with the model: per point, an MLP on the backbone's node
embedding gives ``μ`` and ``log σ²``; a sample ``z = μ + σ·ε`` becomes a mask ``min(1, ReLU(sigmoid(z) − t))``
that multiplies the point's position, the graph is rebuilt on the masked positions, and the loss is
``BCE + β · mean over graphs of Σ_v KL(N(μ_v, σ_v²) ‖ N(0, 1))``. A point's score is its mask at ``z = μ``.

Unlike the LRI code, the mask head reads the backbone's own embedding (one encoder, as LRI here) instead
of a second copy of the backbone.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.gradients import embedding_width
from hepxai.lri.extractor import Extractor, SeededNoise, node_embedding
from hepxai.lri.geometry import DATA_NEIGHBOURS, rebuild_graph
from hepxai.models.registry import GraphModel
from hepxai.training import Objective, classification_loss


class PointMask(Objective):
    """The PointMask loss and mask generator; train it with :func:`hepxai.training.train`.

    Args:
        model: The backbone it will train with.
        threshold: t of the mask (0.2 in the authors' runs).
        beta: Weight of the KL term (0.01 for DGCNN in the authors' runs).
        k: Neighbours per point of the graph rebuilt on the masked positions.
        radius: Rebuild the graph of the points within this distance instead of the ``k`` nearest.
        unit_directions: Rebuild on ``pos / ‖pos‖`` (ActsTrack hits).
        seed: Seeds the noise.
        dropout: Dropout of the generator.
    """

    kind = "pointmask"

    def __init__(
        self,
        model: GraphModel,
        *,
        threshold: float = 0.2,
        beta: float = 0.01,
        k: int = DATA_NEIGHBOURS,
        radius: float | None = None,
        unit_directions: bool = False,
        seed: int = 0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if not 0 <= threshold < 1 or beta < 0 or k < 1:
            msg = f"PointMask: needs 0 <= threshold < 1, beta >= 0, k >= 1 (got {threshold}, {beta}, {k})"
            raise ValueError(msg)
        self.options = {"threshold": threshold, "beta": beta, "k": k, "seed": seed, "dropout": dropout}
        if unit_directions:
            self.options["unit_directions"] = True
        if radius is not None:
            self.options["radius"] = radius
        self.threshold, self.beta, self.k, self.unit_directions = threshold, beta, k, unit_directions
        self.radius = radius
        self.extractor = Extractor(embedding_width(model), 2, dropout=dropout)
        self.noise = SeededNoise(seed)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments besides the model."""
        return dict(self.options)

    def mask(self, z: Tensor) -> Tensor:
        """``min(1, ReLU(sigmoid(z) − t))``."""
        return torch.relu(torch.sigmoid(z) - self.threshold).clamp(max=1.0)

    def masked(self, batch: Batch, mask: Tensor) -> Batch:
        """The batch with every position multiplied by its mask and the graph rebuilt on them."""
        moved = batch.pos * mask.unsqueeze(1)
        return rebuild_graph(batch, moved, self.k, radius=self.radius, unit_directions=self.unit_directions)

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> Tensor:
        out = self.extractor(node_embedding(model, batch))
        mean, log_var = out[:, 0], out[:, 1]
        z = mean + torch.exp(log_var / 2) * self.noise.normal(tuple(mean.shape), epoch, mean)
        logits = model.fast_forward(self.masked(batch, self.mask(z)))
        kl = -0.5 * (1 + log_var - mean.square() - log_var.exp())
        per_graph = scatter(kl, batch.batch, dim=0, dim_size=int(batch.num_graphs), reduce="sum")
        return classification_loss(logits, batch.y) + self.beta * per_graph

    def scores(self, model: GraphModel, batch: Batch) -> Tensor:
        """``[num_points]`` the mask at ``z = μ``."""
        return self.mask(self.extractor(node_embedding(model, batch))[:, 0])

    def logits(self, model: GraphModel, batch: Batch) -> Tensor:
        """The backbone on the positions masked at ``z = μ`` (the authors' prediction of PointMask)."""
        return model.fast_forward(self.masked(batch, self.scores(model, batch)))
