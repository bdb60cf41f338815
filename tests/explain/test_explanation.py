"""The Explanation type, its summaries and the explainer registry."""

from __future__ import annotations

import pytest
import torch

from hepxai.explain import (
    Explanation,
    explainer_names,
    feature_shares,
    get_explainer,
    register_explainer,
    track_scores,
)


def small_explanation() -> Explanation:
    # jet 0: tracks 0, 1; jet 1: track 2
    node = torch.tensor([[1.0, -3.0], [0.0, 2.0], [-4.0, 0.0]], dtype=torch.float64)
    return Explanation(node=node, batch=torch.tensor([0, 0, 1]), absorbed=torch.zeros(2), logit=torch.ones(2))


def test_track_scores_sum_magnitudes():
    torch.testing.assert_close(
        track_scores(small_explanation()), torch.tensor([4.0, 2.0, 4.0], dtype=torch.float64)
    )  # |1|+|-3|, |0|+|2|, |-4|+|0|


def test_feature_shares_over_the_batch_and_per_jet():
    explanation = small_explanation()
    # |relevance| per feature: (1 + 0 + 4, 3 + 2 + 0) = (5, 5) of 10
    torch.testing.assert_close(feature_shares(explanation), torch.tensor([0.5, 0.5], dtype=torch.float64))
    # jet 0: (1, 5) of 6; jet 1: (4, 0) of 4
    torch.testing.assert_close(
        feature_shares(explanation, per_jet=True),
        torch.tensor([[1 / 6, 5 / 6], [1.0, 0.0]], dtype=torch.float64),
    )


def test_fields_are_validated():
    node = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"Explanation.batch: expected shape \(3,\)"):
        Explanation(node=node, batch=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"Explanation.absorbed: expected shape \(2,\)"):
        Explanation(node=node, batch=torch.tensor([0, 1, 1]), absorbed=torch.zeros(3), logit=torch.zeros(2))
    with pytest.raises(ValueError, match=r"Explanation.edge: expected \[num_edges, 4\]"):
        Explanation(node=node, batch=torch.tensor([0, 0, 0]), edge=torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"Explanation\.target"):
        Explanation(node=node, batch=torch.tensor([0, 0, 0]), target="")
    with pytest.raises(ValueError, match=r"Explanation\.node"):
        Explanation(node=torch.zeros(3), batch=torch.tensor([0, 0, 0]))
    explanation = Explanation(node=node, batch=torch.tensor([0, 0, 1]))
    assert explanation.num_jets == 2
    assert explanation.edge is None
    with pytest.raises(AttributeError):
        explanation.target = "QCD"  # frozen


def test_registry():
    assert "lrp" in explainer_names()
    with pytest.raises(ValueError, match="unknown explainer 'nope'"):
        get_explainer("nope", torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match="already registered"):
        register_explainer("lrp")(type("Other", (), {}))
