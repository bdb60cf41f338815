"""How well per-track scores find the tracks that truly matter: pure functions of scores and truth.

Every function takes flat per-track tensors (``score``, boolean ``truth`` such as ``track_fromB``) and the
jet index of each track, as an :class:`~hepxai.explain.Explanation` provides them. Higher score means more
important. Miao et al., "Interpretable geometric deep learning via learnable randomness injection"
(LRI, ICLR 2023), section 5: interpretation ROC AUC and precision@k.
"""

from __future__ import annotations

import torch
from sklearn.metrics import roc_auc_score
from torch import Tensor
from torch_geometric.utils import scatter

from hepxai.errors import InputError


def interpretation_auc(score: Tensor, truth: Tensor) -> float:
    """ROC AUC of per-track scores against per-track truth, pooled over all tracks given.

    Pass the tracks of signal jets only (as LRI does): background jets have no true tracks to find.

    Args:
        score: ``[num_tracks]`` importance of each track.
        truth: ``[num_tracks]`` bool, the tracks that should rank high.

    Raises:
        InputError: shapes differ, ``score`` is not finite, or ``truth`` is all true or all false.
    """
    score, truth = _check(score, truth)
    num_true = int(truth.sum())
    if num_true in (0, truth.numel()):
        msg = f"interpretation_auc: truth has {num_true} true of {truth.numel()} tracks, needs both kinds"
        raise InputError(msg)
    return float(roc_auc_score(truth.cpu().numpy(), score.double().cpu().numpy()))


def precision_at_k(score: Tensor, truth: Tensor, batch: Tensor, k: int) -> float:
    """Mean over jets of the fraction of true tracks among each jet's ``k`` highest-scored tracks.

    A jet with fewer than ``k`` tracks is scored on all of its ``n`` tracks: its precision is the fraction
    of true tracks among them, ``Σ truth / n`` (dividing by ``k`` would punish a short jet for tracks it
    does not have). Ties keep the earlier track first.

    Args:
        score: ``[num_tracks]`` importance of each track.
        truth: ``[num_tracks]`` bool.
        batch: ``[num_tracks]`` jet index (0 ... num_jets-1) of each track; every jet needs a track.
        k: How many top tracks to look at, ≥ 1.

    Raises:
        InputError: ``k < 1``, the shapes differ, or ``score`` is not finite.
    """
    if k < 1:
        msg = f"precision_at_k: k must be >= 1, got {k}"
        raise InputError(msg)
    score, truth = _check(score, truth)
    rank = rank_within_jets(score, batch)
    num_tracks = scatter(torch.ones_like(score), batch, dim=0, reduce="sum")
    in_top = rank < k
    hits = scatter((in_top & truth).double(), batch, dim=0, dim_size=num_tracks.shape[0], reduce="sum")
    return float((hits / num_tracks.clamp(max=k)).mean())


def rank_within_jets(score: Tensor, batch: Tensor) -> Tensor:
    """``[num_tracks]`` rank of each track within its jet: 0 for the highest score, ties in track order."""
    # Sort by score (descending), then stably by jet: each jet's tracks end up contiguous, best first.
    order = torch.argsort(score.double(), descending=True, stable=True)
    order = order[torch.argsort(batch[order], stable=True)]
    first = torch.cumsum(torch.bincount(batch), dim=0) - torch.bincount(batch)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device) - first[batch[order]]
    return rank


def deletion_area(drop: Tensor) -> float:
    """Area under a deletion curve, normalised to the number of steps: the mean drop over ``k = 0 ... K``.

    ``drop[k]`` is the mean drop of the H probability after removing ``k`` tracks from every jet
    (``drop[0] = 0``). The trapezoidal area divided by ``K`` is in probability units: 0 when nothing
    changes, 1 when the first removal already takes the probability from 1 to 0.

    Raises:
        InputError: fewer than two points.
    """
    if drop.dim() != 1 or drop.numel() < 2:
        msg = f"deletion_area: expected a curve of >= 2 points, got shape {tuple(drop.shape)}"
        raise InputError(msg)
    drop = drop.double()
    return float(((drop[1:] + drop[:-1]) / 2).mean())


def _check(score: Tensor, truth: Tensor) -> tuple[Tensor, Tensor]:
    if score.shape != truth.shape or score.dim() != 1:
        msg = (
            f"expected score and truth of equal shape [num_tracks], "
            f"got {tuple(score.shape)} and {tuple(truth.shape)}"
        )
        raise InputError(msg)
    if not torch.isfinite(score).all():
        msg = f"score has {int((~torch.isfinite(score)).sum())} non-finite values (NaN or inf)"
        raise InputError(msg)
    return score, truth.bool()
