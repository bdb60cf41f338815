"""Explainers (LRP, gradients, masks) and their common result, the Explanation."""

from hepxai.explain.base import (
    TARGETS,
    Explanation,
    explainer_names,
    feature_shares,
    get_explainer,
    register_explainer,
    track_scores,
)
from hepxai.explain.lrp import LRP
from hepxai.explain.rules import Epsilon, Gamma, Rule, ZPlus

__all__ = [
    "LRP",
    "TARGETS",
    "Epsilon",
    "Explanation",
    "Gamma",
    "Rule",
    "ZPlus",
    "explainer_names",
    "feature_shares",
    "get_explainer",
    "register_explainer",
    "track_scores",
]
