"""How well per-track scores find the tracks that truly matter: pure functions of scores and truth.

Every function takes flat per-track tensors (``score``, boolean ``truth`` such as ``track_fromB``) and the
jet index of each track, as an :class:`~hepxai.explain.Explanation` provides them. Higher score means more
important. Miao et al., "Interpretable geometric deep learning via learnable randomness injection"
(LRI, ICLR 2023), section 5: interpretation ROC AUC and precision@k.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score, roc_curve
from torch import Tensor
from torch_geometric.utils import scatter

from hepxai.errors import InputError
from hepxai.metrics.finite import require_finite


def interpretation_auc(score: Tensor, truth: Tensor) -> float:
    """ROC AUC of per-track scores against per-track truth, pooled over all tracks given.

    Pass the tracks of signal jets only (as LRI does): background jets have no true tracks to find.

    Args:
        score: ``[num_tracks]`` importance of each track.
        truth: ``[num_tracks]`` bool, the tracks that should rank high.

    Raises:
        InputError: shapes differ, ``score`` is not finite, or ``truth`` is all true or all false.
    """
    score, truth = _check(score, truth, "interpretation_auc")
    num_true = int(truth.sum())
    if num_true in (0, truth.numel()):
        msg = f"interpretation_auc: truth has {num_true} true of {truth.numel()} tracks, needs both kinds"
        raise InputError(msg)
    return float(roc_auc_score(truth.cpu().numpy(), score.double().cpu().numpy()))


def interpretation_roc(score: Tensor, truth: Tensor) -> tuple[np.ndarray, np.ndarray, float]:
    """The ROC curve behind :func:`interpretation_auc`: false and true positive rates, and the AUC.

    Args:
        score: ``[num_points]`` importance of each point.
        truth: ``[num_points]`` bool, the points that should rank high.

    Raises:
        InputError: as :func:`interpretation_auc`.
    """
    auc = interpretation_auc(score, truth)
    false_positive, true_positive, _ = roc_curve(truth.cpu().numpy(), score.double().cpu().numpy())
    return false_positive, true_positive, auc


def precision_at_k(score: Tensor, truth: Tensor, batch: Tensor, k: int) -> float:
    """Mean over jets of the fraction of true tracks among each jet's ``k`` highest-scored tracks
    (:func:`precision_per_jet`).

    Raises:
        InputError: ``k < 1``, the shapes differ, or ``score`` is not finite.
    """
    return float(precision_per_jet(score, truth, batch, k).mean())


def precision_per_jet(score: Tensor, truth: Tensor, batch: Tensor, k: int) -> Tensor:
    """``[num_jets]`` the fraction of true tracks among each jet's ``k`` highest-scored tracks: a jet's value
    depends on its own tracks only, so the jets of a data set may be scored in parts and joined.

    A jet with fewer than ``k`` tracks is scored on all of its ``n`` tracks: its precision is the fraction
    of true tracks among them, ``Σ truth / n`` (dividing by ``k`` would punish a short jet for tracks it
    does not have).

    Ties are averaged over, not broken: it is the expected precision when tied tracks are taken in random
    order. Tracks tied at the ``k`` boundary share the slots left, each counting ``slots / group size`` of
    its truth. Breaking ties by stored track order would reward a constant score whenever tracks are stored
    sorted by something that correlates with the truth (simulated tracks are stored by ``Sip2dSig``).

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
    score, truth = _check(score, truth, "precision_at_k")
    num_tracks = torch.bincount(batch)
    slots = num_tracks.clamp(max=k)
    above, tied = _tie_groups(score, batch)
    # Of a group of `tied` equal scores after `above` higher ones, min(tied, slots - above) are in the top k.
    share = (slots[batch] - above).clamp(min=0).minimum(tied).double() / tied
    hits = scatter(share * truth, batch, dim=0, dim_size=num_tracks.shape[0], reduce="sum")
    return hits / slots


def pair_precision_at_k(pair_score: Tensor, pair_truth: Tensor, pair_jet: Tensor, k: int) -> float:
    """Mean over jets of the fraction of true pairs among each jet's ``k`` highest-scored pairs of tracks
    (:func:`pair_precision_per_jet`).

    Raises:
        InputError: as :func:`precision_at_k`.
    """
    return float(pair_precision_per_jet(pair_score, pair_truth, pair_jet, k).mean())


def pair_precision_per_jet(pair_score: Tensor, pair_truth: Tensor, pair_jet: Tensor, k: int) -> Tensor:
    """``[num_jets_with_pairs]`` the fraction of true pairs among each jet's ``k`` highest-scored pairs of
    tracks, in jet order.

    :func:`precision_per_jet` with pairs in place of tracks (ties averaged, a jet with fewer than ``k`` pairs
    scored on all of them); jets without a pair are left out.

    Args:
        pair_score: ``[num_pairs]`` importance of each (ordered) pair of two tracks.
        pair_truth: ``[num_pairs]`` bool, e.g. both tracks descend from a b hadron.
        pair_jet: ``[num_pairs]`` jet index of each pair.
        k: How many top pairs to look at, ≥ 1.

    Raises:
        InputError: as :func:`precision_at_k`.
    """
    _, jet = torch.unique(pair_jet, return_inverse=True)
    return precision_per_jet(pair_score, pair_truth, jet, k)


def pair_chance(truth: Tensor, batch: Tensor) -> float:
    """What :func:`pair_precision_at_k` gives for random pair scores: the mean over jets with ≥ 2 tracks of
    ``n_true (n_true − 1) / (n (n − 1))``, the share of ordered pairs of distinct tracks with both true.

    Args:
        truth: ``[num_tracks]`` bool.
        batch: ``[num_tracks]`` jet index of each track.
    """
    count = torch.bincount(batch).double()
    true = torch.bincount(batch, weights=truth.double(), minlength=count.numel())
    paired = count >= 2
    share = true[paired] * (true[paired] - 1) / (count[paired] * (count[paired] - 1))
    return float(share.mean()) if paired.any() else float("nan")


def rank_within_jets(score: Tensor, batch: Tensor, *, tiebreak: Tensor | None = None) -> Tensor:
    """``[num_tracks]`` rank of each track within its jet: 0 for the highest score.

    Args:
        score: ``[num_tracks]`` importance of each track.
        batch: ``[num_tracks]`` jet index of each track.
        tiebreak: ``[num_tracks]`` keys that order tied scores, lowest first (e.g. :func:`random_tiebreak`);
            without it ties keep track order.

    Raises:
        InputError: ``score`` is not finite.
    """
    require_finite(score, metric="rank_within_jets", name="score")
    order = torch.arange(score.numel(), device=score.device)
    if tiebreak is not None:
        order = torch.argsort(tiebreak, stable=True)
    # Sort by score (descending), then stably by jet: each jet's tracks end up contiguous, best first.
    order = order[torch.argsort(score.double()[order], descending=True, stable=True)]
    order = order[torch.argsort(batch[order], stable=True)]
    counts = torch.bincount(batch)
    first = torch.cumsum(counts, dim=0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device) - first[batch[order]]
    return rank


def random_tiebreak(batch: Tensor, jet_id: Tensor, *, seed: int) -> Tensor:
    """``[num_tracks]`` random keys for :func:`rank_within_jets`, a pure function of (seed, jet id, track).

    Each key hashes the seed, the jet's id and the track's position within its jet (SplitMix64, Steele,
    Lea & Flood, OOPSLA 2014), so a jet's ties are broken the same way however the jets are batched.

    Args:
        batch: ``[num_tracks]`` jet index (0 ... num_jets-1) of each track.
        jet_id: ``[num_jets]`` an id of each jet that is unique within the data set being scored.
        seed: The seed; another seed gives independent keys.
    """
    position = rank_within_jets(torch.zeros(batch.numel()), batch.cpu())
    key = np.uint64(seed & 0xFFFF_FFFF_FFFF_FFFF)
    for part in (jet_id.cpu()[batch.cpu()].numpy(), position.numpy()):
        key = _splitmix64(key ^ part.astype(np.uint64))
    return torch.from_numpy(key.view(np.int64)).to(batch.device)


def _splitmix64(value: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective 64-bit mix; each input bit flips about half the output bits."""
    value = value + np.uint64(0x9E3779B97F4A7C15)
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


def _tie_groups(score: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Per track: how many tracks of its jet score higher, and how many score the same (itself included)."""
    order = torch.argsort(score.double(), descending=True, stable=True)
    order = order[torch.argsort(batch[order], stable=True)]
    sorted_score, sorted_batch = score.double()[order], batch[order]
    new_group = torch.ones_like(sorted_batch, dtype=torch.bool)
    new_group[1:] = (sorted_score[1:] != sorted_score[:-1]) | (sorted_batch[1:] != sorted_batch[:-1])
    group = torch.cumsum(new_group.long(), dim=0) - 1
    group_size = torch.bincount(group)
    position = torch.arange(order.numel(), device=order.device)
    counts = torch.bincount(batch)
    group_start = position[new_group] - (torch.cumsum(counts, dim=0) - counts)[sorted_batch[new_group]]
    above, tied = torch.empty_like(order), torch.empty_like(order)
    above[order] = group_start[group]
    tied[order] = group_size[group]
    return above, tied


def deletion_area(drop: Tensor) -> float:
    """Area under a deletion curve, normalised to the number of steps: the mean drop over ``k = 0 ... K``.

    ``drop[k]`` is the mean drop of the H probability after removing ``k`` tracks from every jet
    (``drop[0] = 0``). The trapezoidal area divided by ``K`` is in probability units: 0 when nothing
    changes, 1 when the first removal already takes the probability from 1 to 0.

    Raises:
        InputError: fewer than two points, or a point is not finite.
    """
    if drop.dim() != 1 or drop.numel() < 2:
        msg = f"deletion_area: expected a curve of >= 2 points, got shape {tuple(drop.shape)}"
        raise InputError(msg)
    require_finite(drop, metric="deletion_area", name="drop")
    drop = drop.double()
    return float(((drop[1:] + drop[:-1]) / 2).mean())


def _check(score: Tensor, truth: Tensor, metric: str) -> tuple[Tensor, Tensor]:
    if score.shape != truth.shape or score.dim() != 1:
        msg = (
            f"{metric}: expected score and truth of equal shape [num_tracks], "
            f"got {tuple(score.shape)} and {tuple(truth.shape)}"
        )
        raise InputError(msg)
    require_finite(score, metric=metric, name="score")
    return score, truth.bool()
