"""Explainers (LRP, gradients, masks) and their common result, the Explanation."""

from hepxai.explain.base import (
    TARGETS,
    Explanation,
    explainer_names,
    feature_shares,
    get_explainer,
    point_scores,
    register_explainer,
    track_scores,
)
from hepxai.explain.gradients import GradGAM, GradGeo, GradientTimesInput, IntegratedGradients, Saliency
from hepxai.explain.lrp import LRP
from hepxai.explain.masks import BernMask, BernMaskP
from hepxai.explain.rules import Epsilon, Gamma, Rule, ZPlus
from hepxai.explain.trivial import ImpactParameterRanking, RandomRanking, TrackPtRanking

__all__ = [
    "LRP",
    "TARGETS",
    "BernMask",
    "BernMaskP",
    "Epsilon",
    "Explanation",
    "Gamma",
    "GradGAM",
    "GradGeo",
    "GradientTimesInput",
    "ImpactParameterRanking",
    "IntegratedGradients",
    "RandomRanking",
    "Rule",
    "Saliency",
    "TrackPtRanking",
    "ZPlus",
    "explainer_names",
    "feature_shares",
    "get_explainer",
    "point_scores",
    "register_explainer",
    "track_scores",
]
