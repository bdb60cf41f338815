"""Simple taggers to quote beside the HIN on the same jets: soft-drop mass alone, and a boosted tree."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from hepxai.data.jets import Jets

HIGGS_MASS = 125.0  # GeV


def mass_score(jets: Jets) -> np.ndarray | None:
    """``[num_jets]`` score ``-|m_SD - 125 GeV|``, or None when the jets carry no ``fj_sdmass``."""
    if "fj_sdmass" not in jets.spectators:
        return None
    return higgs_mass_score(jets.spectators["fj_sdmass"])


def higgs_mass_score(mass: np.ndarray) -> np.ndarray:
    """``[num_jets]`` score ``-|m_SD - 125 GeV|`` of soft-drop masses."""
    return -np.abs(mass.astype(np.float64) - HIGGS_MASS)


def jet_quantities(jets: Jets) -> tuple[np.ndarray, list[str]]:
    """Per-jet inputs of the boosted tree: spectators, track count and the mean of every distinct feature.

    Returns:
        ``[num_jets, num_quantities]`` values and their names.
    """
    distinct = list(dict.fromkeys(jets.feature_names))
    columns = [jets.feature_names.index(name) for name in distinct]
    counts = np.maximum(jets.num_tracks, 1)[:, None]
    starts = np.minimum(jets.offsets, max(len(jets.features) - 1, 0))
    sums = np.add.reduceat(jets.features[:, columns].astype(np.float64), starts, axis=0)
    sums[jets.num_tracks == 0] = 0.0  # reduceat gives the next track's value for an empty segment
    values = [*jets.spectators.values(), jets.num_tracks, *(sums / counts).T]
    names = [*jets.spectators, "num_tracks", *(f"mean {name}" for name in distinct)]
    return np.stack(values, axis=1).astype(np.float64), names


def boosted_tree_score(jets: Jets, *, folds: int = 2, seed: int = 0) -> np.ndarray:
    """``[num_jets]`` out-of-fold H probability of a gradient-boosted tree on :func:`jet_quantities`.

    Each jet is scored by a tree trained on the other folds, so the score is honest on the jets given.
    """
    return tree_score(jet_quantities(jets)[0], jets.label, folds=folds, seed=seed)


def tree_score(quantities: np.ndarray, label: np.ndarray, *, folds: int = 2, seed: int = 0) -> np.ndarray:
    """:func:`boosted_tree_score` from ``[num_jets, num_quantities]`` :func:`jet_quantities` and labels."""
    classifier = HistGradientBoostingClassifier(random_state=seed)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(classifier, quantities, label, cv=splitter, method="predict_proba")[:, 1]
