"""Rankings of a jet tagger's input features: by LRP-ε relevance, by permutation importance, at random.

Each ranks the distinct feature names of the jets, most important first. A name the schema repeats (the CMS
schema holds ``track_pt``, ``track_ptrel`` and ``track_dlambdadz`` twice) counts once: LRP adds the relevance
of its copies, permutation shuffles them together (shuffling one copy alone would leave its twin to carry
the information). The feature-reduction study (:mod:`hepxai.reduction`) retrains the tagger on the top k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hepxai.data.jets import Jets
from hepxai.evaluation import predict, tagger_score
from hepxai.explain.lrp import LRP
from hepxai.explain.relevance_summary import merge_repeated_features
from hepxai.metrics.classification import roc_auc
from hepxai.models.registry import GraphModel

RANKINGS = ("lrp", "permutation", "random")
"""Ranking methods, in the order of the study's table."""


@dataclass(frozen=True)
class FeatureRanking:
    """Distinct feature names, most important first, with the measure that ordered them."""

    method: str
    names: tuple[str, ...]
    importance: tuple[float, ...]  # same order as names: mean |R| per jet, AUC drop, or a random draw

    def top(self, k: int) -> tuple[str, ...]:
        """The ``k`` most important names."""
        return self.names[:k]


def rank_features(
    method: str, model: GraphModel, jets: Jets, *, seed: int = 0, batch_size: int = 256
) -> FeatureRanking:
    """Rank the distinct features of ``jets`` by ``method`` (one of :data:`RANKINGS`).

    Args:
        method: ``lrp`` (dataset mean of the per-jet sum of |LRP-ε relevance| of the H logit, with respect
            to the standardised features), ``permutation`` (drop of the ROC AUC when a feature's values are
            shuffled across all tracks of all jets) or ``random`` (a seeded permutation).
        model: The tagger trained on every feature of ``jets``.
        jets: Labelled validation jets (both classes for ``permutation``).
        seed: Seeds the shuffles and the random ranking.
        batch_size: Jets explained or scored at once.

    Raises:
        ValueError: an unknown method.
    """
    names = tuple(dict.fromkeys(jets.feature_names))
    if method == "lrp":
        importance = lrp_importance(model, jets, batch_size=batch_size)
    elif method == "permutation":
        importance = permutation_importance(model, jets, seed=seed, batch_size=batch_size)
    elif method == "random":
        importance = np.random.default_rng([seed, 1]).permutation(len(names)).astype(np.float64)
    else:
        msg = f"unknown feature ranking '{method}' (valid: {', '.join(RANKINGS)})"
        raise ValueError(msg)
    order = np.argsort(-importance, kind="stable")  # ties keep the schema order
    return FeatureRanking(method, tuple(names[i] for i in order), tuple(float(importance[i]) for i in order))


def lrp_importance(model: GraphModel, jets: Jets, *, batch_size: int = 256) -> np.ndarray:
    """``[num_distinct]`` mean over jets of the sum over tracks of |R|, copies of a name added.

    LRP-ε (ε = 1e-6) of the H logit (the model's ``default_target``), relevance of the standardised
    features: near-constant features get none, as in the benchmark's ``lrp_epsilon``.
    """
    explainer = LRP(model, edges=False)
    total = torch.zeros(jets.num_features, dtype=torch.float64)
    for start in range(0, len(jets), batch_size):
        batch = jets.select(np.arange(start, min(start + batch_size, len(jets)))).to_batch()
        explanation = explainer.explain(batch, target=model.default_target)
        total += explanation.node.detach().abs().sum(dim=0).double()
    _, merge = merge_repeated_features(jets.feature_names)
    return total.numpy() / len(jets) @ merge


def permutation_importance(
    model: GraphModel, jets: Jets, *, seed: int = 0, batch_size: int = 1024
) -> np.ndarray:
    """``[num_distinct]`` ROC AUC of the tagger minus its AUC with one feature shuffled across tracks.

    The values of a feature (all its copies, with one shuffle) are permuted over all tracks of all jets, so
    each jet keeps its track count and every other feature. One shuffle per feature, drawn from
    ``(seed, feature)``.
    """
    base = roc_auc(tagger_score(predict(model, jets, batch_size=batch_size)), jets.label)
    names = list(dict.fromkeys(jets.feature_names))
    drops = np.zeros(len(names))
    for number, name in enumerate(names):
        columns = [i for i, feature in enumerate(jets.feature_names) if feature == name]
        order = np.random.default_rng([seed, number]).permutation(len(jets.features))
        features = jets.features.copy()
        features[:, columns] = jets.features[order][:, columns]
        shuffled = Jets(features, jets.num_tracks, jets.label, jets.feature_names)
        score = tagger_score(predict(model, shuffled, batch_size=batch_size))
        drops[number] = base - roc_auc(score, jets.label)
    return drops
