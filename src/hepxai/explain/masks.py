"""Mask explainers: BernMask (a mask per jet, optimised) and BernMask-P (a trained mask generator).

Both learn, for every track, the probability ``p`` of keeping it such that the frozen model, shown jets with
tracks removed at random with probability ``1 − p``, still gives the explained class. Removal is relaxed
(a binary-concrete sample ``m`` in (0, 1), temperature ``temperature``) and applied through the model
interface's node and edge weights (:func:`~hepxai.explain.forward.masked_batch`), which for a 0/1 mask is
exactly dropping the track and its edges. The loss per jet is

    − log P(class | masked jet) + size · mean(p) + entropy · mean(H(p)),

so tracks the class needs keep ``p`` near 1 and the others drift to 0. ``p`` is the score (``node`` of shape
``[num_tracks, 1]``). The class is the target's first column (``"H-QCD"``: H, since
``P(H) = σ(logit_H − logit_QCD)``); a one-logit model's probability is ``σ(logit)``.

BernMask follows GNNExplainer (Ying et al., 2019, https://arxiv.org/abs/1903.03894), BernMask-P follows
PGExplainer (Luo et al., 2020, https://arxiv.org/abs/2011.04573), both as adapted by the LRI paper
(Miao et al., 2023, https://arxiv.org/abs/2210.16966).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as functional
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.base import Explanation, register_explainer
from hepxai.explain.forward import eval_mode, masked_batch, target_logit
from hepxai.explain.gradients import embedding_module, embedding_width
from hepxai.explain.targets import resolve_target
from hepxai.models.registry import GraphModel

log = logging.getLogger(__name__)


def relaxed_bernoulli(logit: Tensor, temperature: float, uniform: Tensor, *, bound: float = 1e-10) -> Tensor:
    """A binary-concrete sample ``sigmoid((logit + log u − log(1−u)) / T)``, differentiable in ``logit``;
    ``u`` is kept within ``[bound, 1 − bound]`` so that the logistic noise stays finite."""
    uniform = uniform.clamp(bound, 1 - bound)
    return torch.sigmoid((logit + torch.log(uniform) - torch.log1p(-uniform)) / temperature)


class _MaskObjective:
    """The loss shared by both mask explainers, summed over jets so that jets do not compete."""

    def __init__(
        self, model: GraphModel, *, size: float, entropy: float, temperature: float, seed: int
    ) -> None:
        for name, value in (("size", size), ("entropy", entropy)):
            if value < 0:
                msg = f"{type(self).__name__}: {name} must be >= 0, got {value}"
                raise ValueError(msg)
        if temperature <= 0:
            msg = f"{type(self).__name__}: temperature must be > 0, got {temperature}"
            raise ValueError(msg)
        self.model, self.size, self.entropy, self.temperature, self.seed = (
            model,
            size,
            entropy,
            temperature,
            seed,
        )

    def loss(self, batch: Batch, mask_logit: Tensor, class_index: int, generator: torch.Generator) -> Tensor:
        """Loss for mask logits ``[num_tracks]``, one binary-concrete sample of the mask."""
        uniform = torch.rand(mask_logit.shape, generator=generator, dtype=mask_logit.dtype)
        sample = relaxed_bernoulli(mask_logit, self.temperature, uniform.to(mask_logit.device), bound=1e-6)
        log_probability = _log_probability(self.model(masked_batch(batch, sample)), class_index)
        keep = torch.sigmoid(mask_logit)
        entropy = -(keep * torch.log(keep + 1e-12) + (1 - keep) * torch.log(1 - keep + 1e-12))
        num_jets = int(batch.num_graphs)
        penalty = scatter(
            self.size * keep + self.entropy * entropy, batch.batch, dim=0, dim_size=num_jets, reduce="mean"
        )
        return (-log_probability + penalty).sum()

    def logit(self, batch: Batch, target: str) -> Tensor:
        with torch.no_grad():
            return target_logit(self.model, batch, self.model(batch), target)

    def class_index(self, target: str | None) -> int:
        """The output column whose probability the masks keep: the target's (first) column."""
        target = resolve_target(self.model, target)
        classes = tuple(self.model.classes)
        return classes.index(target if target in classes else target.partition("-")[0])


def _log_probability(logits: Tensor, class_index: int) -> Tensor:
    """``[num_graphs]`` log-probability of the class: softmax over columns, or σ(logit) for one column."""
    if logits.shape[1] == 1:
        return functional.logsigmoid(logits[:, 0])
    return functional.log_softmax(logits, dim=1)[:, class_index]


@register_explainer("bernmask")
class BernMask(_MaskObjective):
    """A keep-probability per track, optimised for each jet against the frozen model (all jets at once).

    Args:
        model: The HIN; its weights are not changed.
        steps: Optimisation steps (Adam).
        lr: Learning rate.
        size: Weight of the mean keep-probability (fewer tracks).
        entropy: Weight of the mean binary entropy (decisive masks).
        temperature: Of the binary-concrete relaxation.
        seed: Seeds the initial masks and the sampling.
    """

    def __init__(
        self,
        model: GraphModel,
        *,
        steps: int = 100,
        lr: float = 0.1,
        size: float = 0.05,
        entropy: float = 0.1,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(model, size=size, entropy=entropy, temperature=temperature, seed=seed)
        if steps < 1:
            msg = f"BernMask: steps must be >= 1, got {steps}"
            raise ValueError(msg)
        self.steps, self.lr = steps, lr

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Optimised keep-probability of every track of ``batch`` for ``target``."""
        class_index = self.class_index(target)
        generator = torch.Generator().manual_seed(self.seed)
        parameter = next(self.model.parameters())
        mask_logit = 0.1 * torch.randn(batch.x.shape[0], generator=generator, dtype=parameter.dtype)
        mask_logit = mask_logit.to(parameter.device).requires_grad_(True)
        optimizer = torch.optim.Adam([mask_logit], lr=self.lr)
        with eval_mode(self.model), torch.enable_grad():
            for _ in range(self.steps):
                optimizer.zero_grad()
                (mask_logit.grad,) = torch.autograd.grad(
                    self.loss(batch, mask_logit, class_index, generator), mask_logit
                )
                optimizer.step()
            logit = self.logit(batch, target)
        keep = torch.sigmoid(mask_logit.detach()).unsqueeze(1)
        return Explanation(
            node=keep, batch=batch.batch, logit=logit, target=resolve_target(self.model, target)
        )


@register_explainer("bernmask_p")
class BernMaskP(_MaskObjective):
    """A mask generator ``MLP([track embedding, jet embedding]) → p``, trained once, then applied to any jet.

    The embeddings are the frozen model's last track embedding (output of its ``embedding_name`` module)
    and its mean over the jet. :meth:`fit` trains the generator on given jets; :meth:`explain` on an
    unfitted explainer first fits it on the jets it is asked to explain.

    Args:
        model: The HIN; its weights are not changed.
        epochs: Passes over the training jets (Adam, one step per batch).
        lr: Learning rate.
        hidden: Width of the generator's hidden layer.
        size: Weight of the mean keep-probability.
        entropy: Weight of the mean binary entropy.
        temperature: Of the binary-concrete relaxation (1 in the LRI paper).
        seed: Seeds the generator's weights and the sampling.
    """

    def __init__(
        self,
        model: GraphModel,
        *,
        epochs: int = 30,
        lr: float = 0.003,
        hidden: int = 64,
        size: float = 0.05,
        entropy: float = 0.1,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(model, size=size, entropy=entropy, temperature=temperature, seed=seed)
        if epochs < 1:
            msg = f"BernMaskP: epochs must be >= 1, got {epochs}"
            raise ValueError(msg)
        self.epochs, self.lr = epochs, lr
        dtype = next(model.parameters()).dtype
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.generator = nn.Sequential(
                nn.Linear(2 * embedding_width(model), hidden), nn.ReLU(), nn.Linear(hidden, 1)
            ).to(dtype=dtype, device=next(model.parameters()).device)
        self.fitted = False

    def fit(self, batches: Sequence[Batch], *, target: str | None = None) -> BernMaskP:
        """Train the generator on ``batches`` (e.g. chunks of the jets to explain); returns ``self``."""
        class_index = self.class_index(target)
        sampler = torch.Generator().manual_seed(self.seed)
        embeddings = [self._embedding(batch) for batch in batches]
        optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.lr)
        parameters = list(self.generator.parameters())
        with eval_mode(self.model), torch.enable_grad():
            for epoch in range(self.epochs):
                total = 0.0
                for batch, embedding in zip(batches, embeddings, strict=True):
                    optimizer.zero_grad()
                    loss = self.loss(batch, self.generator(embedding).squeeze(1), class_index, sampler)
                    for parameter, grad in zip(
                        parameters, torch.autograd.grad(loss, parameters), strict=True
                    ):
                        parameter.grad = grad
                    optimizer.step()
                    total += float(loss.detach())
                log.debug("BernMask-P epoch %d: loss %.4f", epoch, total)
        self.fitted = True
        return self

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Generated keep-probability of every track of ``batch`` for ``target``."""
        if not self.fitted:
            log.info("BernMask-P: training the mask generator on the %d jets to explain", batch.num_graphs)
            self.fit([batch], target=target)
        with torch.no_grad(), eval_mode(self.model):
            keep = torch.sigmoid(self.generator(self._embedding(batch)))
            logit = self.logit(batch, target)
        return Explanation(
            node=keep, batch=batch.batch, logit=logit, target=resolve_target(self.model, target)
        )

    def _embedding(self, batch: Batch) -> Tensor:
        """``[num_tracks, 2 * hidden]`` the frozen model's track embedding and its jet's mean embedding."""
        captured: list[Tensor] = []
        handle = embedding_module(self.model).register_forward_hook(
            lambda module, inputs, output: captured.append(output)
        )
        try:
            with torch.no_grad(), eval_mode(self.model):
                self.model(batch)
        finally:
            handle.remove()
        (track,) = captured
        jet = scatter(track, batch.batch, dim=0, dim_size=int(batch.num_graphs), reduce="mean")
        return torch.cat([track, jet[batch.batch]], dim=1)
