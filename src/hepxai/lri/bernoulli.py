"""LRI-Bernoulli: a learned keep-probability per point; points the label needs keep p_v near 1.

Per point ``p_v = sigmoid(MLP(z_v))`` from the backbone's node embedding ``z_v``; a relaxed Bernoulli
sample ``m_v`` (binary concrete, temperature 1) weighs every message ``j → i`` by ``m_j · m_i`` through
``batch.edge_weight``, and the pooling over points by ``m_v`` (``batch.node_weight``). The node weight is
needed because this project's mean aggregation is normalised (``Σ w·m / Σ w``), where the common factor
``m_i`` of a point's incoming messages cancels: without it, a point's own features would reach the pooling
however small its mask. The loss is ``BCE + β · mean_v KL(Bern(p_v) ‖ Bern(α))`` with α annealed from
``init_alpha`` down by ``alpha_decay`` every ``alpha_interval`` epochs to ``final_alpha``; the score of a
point is ``p_v``.

Miao et al. (2023), section 4.1 and appendix C; the annealing follows the authors' code.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch

from hepxai.explain.gradients import embedding_width
from hepxai.explain.masks import relaxed_bernoulli
from hepxai.lri.extractor import Extractor, SeededNoise, node_embedding, per_graph_share
from hepxai.models.registry import GraphModel
from hepxai.training import Objective, classification_loss

EPSILON = 1e-6


def bernoulli_kl(p: Tensor, alpha: float) -> Tensor:
    """``KL(Bern(p) ‖ Bern(α))`` element-wise, ``p log(p/α) + (1−p) log((1−p)/(1−α))`` (0 log 0 = 0)."""
    p = p.clamp(EPSILON, 1 - EPSILON)
    return p * torch.log(p / alpha) + (1 - p) * torch.log((1 - p) / (1 - alpha))


class LRIBernoulli(Objective):
    """The LRI-Bernoulli loss and noise generator; train it with :func:`hepxai.training.train`.

    Args:
        model: The backbone it will train with (sets the width of the generator).
        beta: Weight of the mean KL term (1 for ActsTrack, 0.1 for SynMol with DGCNN in the authors' runs).
        final_alpha: Where α ends (0.5–0.7; 0.5 injects the most randomness).
        init_alpha: Where α starts.
        alpha_decay: Step of α.
        alpha_interval: Epochs between steps.
        temperature: Of the relaxed Bernoulli (1, not tuned in the paper).
        warmup: Epochs of the bare backbone before the noise starts (0: the noise from the first epoch).
        seed: Seeds the noise.
        dropout: Dropout of the generator.
    """

    kind = "lri_bernoulli"

    def __init__(
        self,
        model: GraphModel,
        *,
        beta: float = 1.0,
        final_alpha: float = 0.7,
        init_alpha: float = 0.9,
        alpha_decay: float = 0.1,
        alpha_interval: int = 10,
        temperature: float = 1.0,
        warmup: int = 0,
        seed: int = 0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if not 0 < final_alpha <= init_alpha < 1:
            msg = f"LRIBernoulli: needs 0 < final_alpha <= init_alpha < 1 (got {final_alpha}, {init_alpha})"
            raise ValueError(msg)
        if beta < 0 or temperature <= 0 or warmup < 0 or alpha_interval < 1:
            msg = (
                f"LRIBernoulli: needs beta >= 0, temperature > 0, warmup >= 0, alpha_interval >= 1 "
                f"(got {beta}, {temperature}, {warmup}, {alpha_interval})"
            )
            raise ValueError(msg)
        self.options = {
            "beta": beta,
            "final_alpha": final_alpha,
            "init_alpha": init_alpha,
            "alpha_decay": alpha_decay,
            "alpha_interval": alpha_interval,
            "temperature": temperature,
            "warmup": warmup,
            "seed": seed,
            "dropout": dropout,
        }
        self.beta, self.temperature, self.warmup = beta, temperature, warmup
        self.extractor = Extractor(embedding_width(model), 1, dropout=dropout)
        self.noise = SeededNoise(seed)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments besides the model."""
        return dict(self.options)

    def alpha(self, epoch: int) -> float:
        """α of epoch ``epoch`` (counted from 1; the schedule starts with the first noisy epoch)."""
        steps = max(0, epoch - self.warmup - 1) // self.options["alpha_interval"]
        value = self.options["init_alpha"] - steps * self.options["alpha_decay"]
        return max(self.options["final_alpha"], value)

    def selectable(self, epoch: int) -> bool:
        return epoch > self.warmup

    def keep_logit(self, model: GraphModel, batch: Batch) -> Tensor:
        """``[num_points]`` ``logit(p_v)`` from the backbone's embedding of the unmasked batch."""
        return self.extractor(node_embedding(model, batch)).squeeze(1)

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> Tensor:
        if epoch <= self.warmup:
            return classification_loss(model.fast_forward(batch), batch.y)
        logit = self.keep_logit(model, batch)
        mask = relaxed_bernoulli(
            logit, self.temperature, self.noise.uniform(tuple(logit.shape), epoch, logit)
        )
        kl = bernoulli_kl(torch.sigmoid(logit), self.alpha(epoch))
        loss = classification_loss(model.fast_forward(masked(batch, mask)), batch.y)
        return loss + self.beta * per_graph_share(kl, batch)

    def scores(self, model: GraphModel, batch: Batch) -> Tensor:
        """``[num_points]`` ``p_v``: the higher, the more the point's existence matters."""
        return torch.sigmoid(self.keep_logit(model, batch))

    def logits(self, model: GraphModel, batch: Batch) -> Tensor:
        """The backbone on the unmasked points (the authors' prediction of an LRI model)."""
        return model.fast_forward(batch)


def masked(batch: Batch, mask: Tensor) -> Batch:
    """``batch`` with ``edge_weight = m_src · m_dst`` and ``node_weight = m``."""
    out = copy.copy(batch)
    source, target = batch.edge_index
    # index_select: a backward that adds in a fixed order (hepxai.data.graphs.distance_and_direction)
    out.edge_weight = mask.index_select(0, source) * mask.index_select(0, target)
    out.node_weight = mask
    return out
