"""LRI-Gaussian: a learned covariance per point; points whose location the label needs get little noise.

Per point an MLP on the backbone's node embedding gives a dense ``U`` (d×d) and ``a1, a2 > 0`` (softplus,
clipped to [1e-6, 1e6]); ``Σ = a1·UUᵀ + a2·I``. Positions are perturbed in units where they are multiplied
by ``scale`` (the paper's c): ``r̃ = r + ε / c`` with ``ε = √a1·U s1 + √a2·s2``, ``s1, s2 ~ N(0, I)`` (the
paper's reparameterisation, ``E[εεᵀ] = Σ``, without a Cholesky factor). The graph is rebuilt on the perturbed
positions (``k`` nearest neighbours plus a self loop; the original graph would leak the true positions)
and the loss is ``BCE + β · mean_v KL(N(0, Σ_v) ‖ N(0, σI))``. A point's score is ``−log det Σ_v``: the
less noise it tolerates, the more its location matters.

Two variants of the rebuilt graph:

- ``weighting="learned"`` (the paper, section 4.2): every edge of the rebuilt graph carries a weight
  ``w = φ(c·‖r̃_i − r̃_j‖) ∈ (0, 1)`` from a small MLP with a sigmoid, set as ``batch.edge_weight``, so the
  loss reaches the noise through the graph's structure too. The prediction of the trained model uses the
  same weights on the unperturbed positions.
- ``weighting="none"`` (the authors' public code): no weights; the noise reaches the loss only through
  the edge attributes (distances and directions) of the rebuilt graph.

The ablation of the paper's Table 6 keeps the graph of the unperturbed points (``rebuild=False``): the noise
then reaches the loss only through the edge attributes of the dataset's own graph.

For the study of Σ's shape (the paper's appendix E.2, :mod:`hepxai.lri.fieldscan`) three options: ``plane``
(Σ a 2×2 matrix of the x–y block, no noise along z), ``separate_encoder`` (the generator reads an encoder
of its own, a fresh copy of the backbone's architecture, instead of the backbone's embedding) and
``model_lr`` (the backbone's own learning rate while the generator trains).

A training step runs the backbone twice (the embedding of the true positions, then the prediction on the
perturbed ones), each on a graph of k = 10 neighbours where ERM's has 5; keeping both passes' per-edge
activations for the backward pass made a step take 3.4 times ERM's memory. The first pass is recomputed in
the backward pass instead of kept (:mod:`hepxai.lri.recompute`; docs/lri.md, "Memory").

Miao et al. (2023), sections 4.2 and appendices C, D, E.2; warm-up, c, β and k follow the authors'
configurations.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional
from torch_geometric.data import Batch

from hepxai.explain.gradients import embedding_width
from hepxai.lri.extractor import Extractor, SeededNoise, node_embedding, per_graph_share
from hepxai.lri.geometry import rebuild_graph
from hepxai.lri.recompute import recomputed
from hepxai.models.point_graph import point_graph
from hepxai.models.registry import GraphModel, build_model
from hepxai.training import Objective, classification_loss

Weighting = Literal["learned", "none"]
CLIP = (1e-6, 1e6)


def gaussian_kl(covariance: Tensor, sigma: float, *, log_det: Tensor | None = None) -> Tensor:
    """``[...]`` ``KL(N(0, Σ) ‖ N(0, σI))`` of every ``[..., d, d]`` covariance:
    ``½ (tr Σ / σ − d + d ln σ − ln det Σ)``; ``log_det`` gives ``ln det Σ`` when known more precisely."""
    dims = covariance.shape[-1]
    trace = covariance.diagonal(dim1=-2, dim2=-1).sum(-1)
    log_det = torch.logdet(covariance) if log_det is None else log_det
    return 0.5 * (trace / sigma - dims + dims * math.log(sigma) - log_det)


def log_determinant(a1: Tensor, a2: Tensor, factor: Tensor) -> Tensor:
    """``ln det (a1·UUᵀ + a2·I)`` as ``d ln a2 + ln det (I + (a1/a2)·UᵀU)`` (Sylvester's identity).

    The second matrix has every eigenvalue ≥ 1, so its Cholesky factor exists even where ``Σ`` spans many
    orders of magnitude (a2 near its 1e-6 floor, a1 large), where a determinant of ``Σ`` itself would lose
    its sign in float32.
    """
    dims = factor.shape[-1]
    identity = torch.eye(dims, dtype=factor.dtype, device=factor.device)
    inner = identity + (a1 / a2)[:, None, None] * factor.transpose(1, 2) @ factor
    cholesky = torch.linalg.cholesky(inner)
    return dims * torch.log(a2) + 2 * torch.log(cholesky.diagonal(dim1=-2, dim2=-1)).sum(-1)


class DistanceWeight(nn.Module):
    """``φ(d) = sigmoid(MLP(d))``: the weight of an edge of the rebuilt graph from its (scaled) length."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, distance: Tensor) -> Tensor:
        """``[num_edges]`` weights from ``[num_edges]`` distances."""
        return torch.sigmoid(self.layers(distance.unsqueeze(1))).squeeze(1)


class LRIGaussian(Objective):
    """The LRI-Gaussian loss and noise generator; train it with :func:`hepxai.training.train`.

    Args:
        model: The backbone it will train with (sets the width of the generator).
        scale: c, the factor on the positions in whose units the noise is drawn and σ is set; the paper picks
            it so that 1 is about the 5th–10th percentile of ``|c·r|`` (ActsTrack 200 on positions divided
            by the tracker half-length, SynMol 15 on Å).
        beta: Weight of the mean KL term (0.01 in the authors' runs).
        sigma: Variance of the prior ``N(0, σI)`` in scaled units (1).
        k: Neighbours per point of the rebuilt graph (10 for ActsTrack, 5 for SynMol in the authors' code).
        radius: Rebuild the graph of the points within this distance (stored units) instead of the ``k``
            nearest (Tau3Mu: 1.5 in (η, φ), the authors' ``kr``).
        weighting: ``"learned"`` (the paper) or ``"none"`` (the authors' code), see the module.
        warmup: Epochs of the backbone alone (on the rebuilt graph of the true positions) before the noise.
        seed: Seeds the noise.
        dropout: Dropout of the generator (and of its own encoder).
        plane: Σ is 2×2, on x and y only (the noise leaves z alone).
        separate_encoder: The generator reads its own encoder (the backbone's architecture, new weights).
        model_lr: The backbone's learning rate (``None``: the run's); the generator keeps the run's.
        rebuild: Rebuild the graph on the perturbed positions (the paper); ``False`` keeps the batch's graph
            (the ablation), with ``weighting="none"``.
    """

    kind = "lri_gaussian"

    def __init__(
        self,
        model: GraphModel,
        *,
        scale: float,
        beta: float = 0.01,
        sigma: float = 1.0,
        k: int = 10,
        radius: float | None = None,
        unit_directions: bool = False,
        weighting: Weighting = "learned",
        warmup: int = 0,
        seed: int = 0,
        dropout: float = 0.2,
        plane: bool = False,
        separate_encoder: bool = False,
        model_lr: float | None = None,
        rebuild: bool = True,
    ) -> None:
        super().__init__()
        if weighting not in ("learned", "none"):
            msg = f"LRIGaussian: weighting must be 'learned' or 'none' (got {weighting!r})"
            raise ValueError(msg)
        if not rebuild and weighting != "none":
            msg = "LRIGaussian: the graph of the unperturbed points (rebuild=False) takes weighting='none'"
            raise ValueError(msg)
        if scale <= 0 or sigma <= 0 or beta < 0 or k < 1 or warmup < 0:
            msg = (
                f"LRIGaussian: needs scale > 0, sigma > 0, beta >= 0, k >= 1, warmup >= 0 "
                f"(got {scale}, {sigma}, {beta}, {k}, {warmup})"
            )
            raise ValueError(msg)
        self.options = {
            "scale": scale,
            "beta": beta,
            "sigma": sigma,
            "k": k,
            "unit_directions": unit_directions,
            "weighting": weighting,
            "warmup": warmup,
            "seed": seed,
            "dropout": dropout,
            **({"plane": True} if plane else {}),
            **({"separate_encoder": True} if separate_encoder else {}),
            **({"model_lr": model_lr} if model_lr is not None else {}),
            **({"rebuild": False} if not rebuild else {}),
            **({"radius": radius} if radius is not None else {}),
        }
        self.rebuild = rebuild
        self.scale, self.beta, self.sigma, self.k, self.warmup = scale, beta, sigma, k, warmup
        self.unit_directions, self.model_lr, self.radius = unit_directions, model_lr, radius
        self.dims = 2 if plane else 3
        self.encoder = (
            build_model(model.kind, **{**model.config, "dropout": dropout}) if separate_encoder else None
        )
        self.extractor = Extractor(embedding_width(model), 2 + self.dims**2, dropout=dropout)
        self.distance_weight = DistanceWeight() if weighting == "learned" else None
        self.noise = SeededNoise(seed)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments besides the model."""
        return dict(self.options)

    def selectable(self, epoch: int) -> bool:
        return epoch > self.warmup

    def parameter_groups(self, model: GraphModel) -> list[dict[str, Any]]:
        if self.model_lr is None:
            return super().parameter_groups(model)
        return [
            {"params": list(model.parameters()), "lr": self.model_lr},
            {"params": list(self.parameters())},
        ]

    def graph(self, batch: Batch, pos: Tensor) -> Batch:
        """The rebuilt graph on ``pos``, with learned edge weights in the paper's variant (or the batch's own
        graph with its edge attributes from ``pos``, without ``rebuild``)."""
        if self.rebuild:
            rebuilt = rebuild_graph(
                batch, pos, self.k, radius=self.radius, unit_directions=self.unit_directions
            )
        else:
            rebuilt = copy.copy(batch)
            rebuilt.pos, rebuilt.edge_attr = pos, None
            rebuilt.edge_attr = point_graph(rebuilt, k=self.k, unit_directions=self.unit_directions).edge_attr
        if self.distance_weight is not None:
            rebuilt.edge_weight = self.distance_weight(self.scale * rebuilt.edge_attr[:, 0])
        return rebuilt

    def covariance(
        self, model: GraphModel, batch: Batch, *, recompute: bool = False
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``Σ`` ``[num_points, d, d]`` and its factors ``a1``, ``a2`` ``[num_points]`` and ``U``.

        From the embedding (the backbone's, or the generator's own encoder's) of the rebuilt graph of the
        true positions; d is 3, or 2 (x, y) with ``plane``. With ``recompute`` (training) the pass keeps
        none of its per-edge activations for the backward pass, which runs it again
        (:func:`~hepxai.lri.recompute.recomputed`): the same numbers in half the memory of a step.
        """
        if batch.pos.shape[1] != 3:
            msg = f"LRIGaussian: expects 3D positions, the batch has pos of shape {tuple(batch.pos.shape)}"
            raise ValueError(msg)
        dims = self.dims
        if recompute:
            out = recomputed(self._generator_output, model, batch, modules=(model, self))
        else:
            out = self._generator_output(model, batch)
        a1 = functional.softplus(out[:, 0]).clamp(*CLIP)
        a2 = functional.softplus(out[:, 1]).clamp(*CLIP)
        factor = out[:, 2:].reshape(-1, dims, dims)
        identity = torch.eye(dims, dtype=out.dtype, device=out.device)
        covariance = a1[:, None, None] * factor @ factor.transpose(1, 2) + a2[:, None, None] * identity
        return covariance, a1, a2, factor

    def _generator_output(self, model: GraphModel, batch: Batch) -> Tensor:
        """``[num_points, 2 + d²]``: the extractor on the embedding of the true positions' rebuilt graph."""
        return self.extractor(node_embedding(self.encoder or model, self.graph(batch, batch.pos)))

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> Tensor:
        if epoch <= self.warmup:
            return classification_loss(model.fast_forward(self.graph(batch, batch.pos)), batch.y)
        covariance, a1, a2, factor = self.covariance(model, batch, recompute=torch.is_grad_enabled())
        shape = (factor.shape[0], factor.shape[1])
        first = self.noise.normal((*shape, 1), epoch, factor)
        second = self.noise.normal(shape, epoch, factor)
        noise = a1.sqrt()[:, None] * (factor @ first).squeeze(2) + a2.sqrt()[:, None] * second
        noise = functional.pad(noise, (0, 3 - self.dims))  # no noise along z with ``plane``
        perturbed = self.graph(batch, batch.pos + noise / self.scale)
        loss = classification_loss(model.fast_forward(perturbed), batch.y)
        kl = gaussian_kl(covariance, self.sigma, log_det=log_determinant(a1, a2, factor))
        return loss + self.beta * per_graph_share(kl, batch)

    def scores(self, model: GraphModel, batch: Batch) -> Tensor:
        """``[num_points]`` ``−log det Σ_v``: the higher, the more the point's location matters."""
        _, a1, a2, factor = self.covariance(model, batch)
        return -log_determinant(a1, a2, factor)

    def logits(self, model: GraphModel, batch: Batch) -> Tensor:
        """The backbone on the rebuilt graph of the true positions (no noise)."""
        return model.fast_forward(self.graph(batch, batch.pos))
