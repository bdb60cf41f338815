"""Tagger performance as physicists quote it: ROC curve, ROC AUC, background rejection, with uncertainties.

Signal is label 1 (H->bb), background label 0 (QCD); a higher score means more signal-like. Jets with equal
scores are treated as one threshold, so ties count half in the AUC. Rejections carry the exact
Clopper–Pearson interval of the background efficiency (a handful of background jets passing a tight cut
makes the normal approximation meaningless); the AUC carries a bootstrap standard deviation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hepxai.errors import InputError
from hepxai.metrics.binomial import clopper_pearson
from hepxai.metrics.finite import require_finite


def roc_curve(score: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background and signal efficiency for a cut ``score >= threshold`` at every distinct score.

    Args:
        score: ``[num_jets]`` discriminant.
        label: ``[num_jets]`` 1 for signal, 0 for background.

    Returns:
        ``background_efficiency`` (false-positive rate), ``signal_efficiency`` (true-positive rate), both
        starting at 0, and the ``threshold`` of each point (``inf`` for the first), thresholds decreasing.

    Raises:
        InputError: shapes differ, a score is not finite, or one of the two classes is absent.
    """
    score, label = np.asarray(score, dtype=np.float64), np.asarray(label)
    if score.shape != label.shape or score.ndim != 1:
        msg = f"roc_curve: score and label must be 1-d of equal length (got {score.shape} and {label.shape})"
        raise InputError(msg)
    require_finite(score, metric="roc_curve", name="score")
    is_signal = label == 1
    num_signal, num_background = int(is_signal.sum()), int((~is_signal).sum())
    if num_signal == 0 or num_background == 0:
        msg = f"roc_curve: needs both classes (got {num_signal} signal, {num_background} background jets)"
        raise InputError(msg)
    order = np.argsort(-score, kind="stable")
    score, is_signal = score[order], is_signal[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    true_positives = np.cumsum(is_signal)[last_of_threshold]
    false_positives = (last_of_threshold + 1) - true_positives
    return (
        np.r_[0.0, false_positives / num_background],
        np.r_[0.0, true_positives / num_signal],
        np.r_[np.inf, score[last_of_threshold]],
    )


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random signal jet outscores a random background jet.

    Raises:
        InputError: as :func:`roc_curve` (a NaN score is refused, never ranked).
    """
    background_efficiency, signal_efficiency, _ = roc_curve(score, label)
    return float(np.trapezoid(signal_efficiency, background_efficiency))


def roc_auc_error(score: np.ndarray, label: np.ndarray, *, resamples: int = 200, seed: int = 0) -> float:
    """Standard deviation of the ROC AUC over bootstrap resamples of the jets.

    Signal and background jets are resampled separately, so every resample keeps both classes at their
    sizes; ``seed`` makes the number reproducible.
    """
    score, label = np.asarray(score, dtype=np.float64), np.asarray(label)
    roc_curve(score, label)  # refuses what the AUC refuses
    generator = np.random.default_rng(seed)
    signal, background = score[label == 1], score[label != 1]
    both = np.r_[np.ones(len(signal), int), np.zeros(len(background), int)]
    aucs = [
        roc_auc(
            np.r_[generator.choice(signal, len(signal)), generator.choice(background, len(background))], both
        )
        for _ in range(resamples)
    ]
    return float(np.std(aucs, ddof=1))


def bootstrap_interval(
    score: np.ndarray,
    label: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    resamples: int = 200,
    level: float = 0.68,
    seed: int = 0,
) -> tuple[float, float]:
    """Central ``level`` interval of ``metric(score, label)`` over bootstrap resamples of the jets.

    Each class is resampled at its size, as in :func:`roc_auc_error`. The ends are resampled values
    themselves (no interpolation), so a rejection that is ``inf`` in some resamples gives an ``inf`` end
    rather than a NaN.
    """
    score, label = np.asarray(score, dtype=np.float64), np.asarray(label)
    roc_curve(score, label)  # refuses what the metrics refuse
    generator = np.random.default_rng(seed)
    signal, background = score[label == 1], score[label != 1]
    both = np.r_[np.ones(len(signal), int), np.zeros(len(background), int)]
    values = np.array(
        [
            metric(
                np.r_[generator.choice(signal, len(signal)), generator.choice(background, len(background))],
                both,
            )
            for _ in range(resamples)
        ]
    )
    tail = (1 - level) / 2
    return (
        float(np.quantile(values, tail, method="inverted_cdf")),
        float(np.quantile(values, 1 - tail, method="inverted_cdf")),
    )


def rejection_interval(
    background_efficiency: np.ndarray, num_background: int
) -> tuple[np.ndarray, np.ndarray]:
    """68% Clopper–Pearson interval of the rejection ``1 / background_efficiency`` measured on
    ``num_background`` jets: ``(1 / upper efficiency, 1 / lower efficiency)``, the upper end ``inf`` where
    no background jet passes."""
    passed = np.rint(np.asarray(background_efficiency, np.float64) * num_background)
    lower, upper = clopper_pearson(passed, num_background)
    with np.errstate(divide="ignore"):
        return 1.0 / upper, 1.0 / lower


def rejection_text(rejection: float, low: float, high: float) -> str:
    """``100 (31–580)``, or ``> 58`` where no background jet passed (only the lower end is known)."""
    return f"> {low:.3g}" if rejection == np.inf else f"{rejection:.3g} ({low:.3g}–{high:.3g})"


def threshold_at_background_efficiency(
    score: np.ndarray, label: np.ndarray, background_efficiency: float
) -> float:
    """The loosest cut ``score >= threshold`` keeping at most ``background_efficiency`` of the background."""
    efficiency, _, threshold = roc_curve(score, label)
    return float(threshold[np.flatnonzero(efficiency <= background_efficiency + 1e-12)[-1]])


def background_rejection(score: np.ndarray, label: np.ndarray, signal_efficiency: float) -> float:
    """``1 / background efficiency`` of the tightest cut keeping at least ``signal_efficiency`` of the signal.

    ``inf`` when that cut keeps no background jet.
    """
    background_efficiency, efficiency, _ = roc_curve(score, label)
    kept = background_efficiency[_first_reaching(efficiency, signal_efficiency)]
    return float(np.inf) if kept == 0 else float(1.0 / kept)


def _first_reaching(efficiency: np.ndarray, target: float) -> int:
    if not 0 < target <= 1:
        msg = f"signal efficiency must be in (0, 1] (got {target})"
        raise InputError(msg)
    return int(np.argmax(efficiency >= target - 1e-12))
