"""Every explainer: shapes, finiteness, the explained logit, and the planted-track check."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from hepxai.errors import InputError
from hepxai.explain import gradients, masks, trivial  # noqa: F401  (registers the explainers)
from hepxai.explain.base import explainer_names, get_explainer, track_scores
from hepxai.explain.forward import logits_with_standardized, standardize, target_logit
from hepxai.explain.lrp import LRP
from hepxai.explain.rules import Epsilon, Gamma, ZPlus
from hepxai.metrics.interpretation import rank_within_jets
from hepxai.models import InteractionNetwork

from .toys import FEATURE_NAMES, NUM_FEATURES, make_jets, planted_track_model, tiny_jets, tiny_model

FAST_OPTIONS = {
    "track_pt": {"feature_names": FEATURE_NAMES},
    "impact_parameter": {"feature_names": FEATURE_NAMES},
    "bernmask": {"steps": 20},
    "bernmask_p": {"epochs": 5},
    "integrated_gradients": {"steps": 8},
}
PER_FEATURE = {"lrp", "saliency", "gradient_x_input", "integrated_gradients"}
NEEDS_POSITIONS = {"gradgeo"}  # point clouds only: tested in test_gradgeo.py


@pytest.fixture
def jets() -> Batch:
    return tiny_jets()


@pytest.fixture
def model() -> InteractionNetwork:
    return tiny_model()


@pytest.fixture
def planted() -> tuple[InteractionNetwork, Batch, torch.Tensor]:
    return planted_track_model()


@pytest.mark.parametrize("name", [name for name in explainer_names() if name not in NEEDS_POSITIONS])
@pytest.mark.parametrize("target", ["H", "QCD", "H-QCD"])
def test_shape_finite_and_logit(name: str, target: str, model: InteractionNetwork, jets: Batch) -> None:
    explanation = get_explainer(name, model, **FAST_OPTIONS.get(name, {})).explain(jets, target=target)
    width = NUM_FEATURES if name in PER_FEATURE else 1
    assert explanation.node.shape == (jets.x.shape[0], width)
    assert torch.isfinite(explanation.node).all()
    assert explanation.target == target
    torch.testing.assert_close(explanation.batch, jets.batch)
    with torch.no_grad():
        torch.testing.assert_close(explanation.logit, target_logit(model, jets, model(jets), target))
    assert model.training is False


@pytest.mark.parametrize(
    "name", ["saliency", "gradient_x_input", "integrated_gradients", "gradgam", "bernmask"]
)
def test_unknown_target_is_rejected(name: str, model: InteractionNetwork, jets: Batch) -> None:
    with pytest.raises(ValueError, match="target must be one of"):
        get_explainer(name, model, **FAST_OPTIONS.get(name, {})).explain(jets, target="W")


PLANTED_METHODS = {
    "saliency": lambda model: get_explainer("saliency", model),
    "saliency_raw": lambda model: get_explainer("saliency", model, input="raw"),
    "gradient_x_input": lambda model: get_explainer("gradient_x_input", model),
    "gradient_x_input_raw": lambda model: get_explainer("gradient_x_input", model, input="raw"),
    "integrated_gradients": lambda model: get_explainer("integrated_gradients", model, steps=8),
    "gradgam": lambda model: get_explainer("gradgam", model),
    "lrp_epsilon": lambda model: LRP(model),
    "lrp_epsilon_raw": lambda model: LRP(model, input="raw"),
    "lrp_gamma": lambda model: LRP(model, rules={"default": Gamma(0.25)}),
    "lrp_zplus": lambda model: LRP(model, rules={"default": Epsilon(1e-6), "node_mlp_2": ZPlus()}),
}


@pytest.mark.parametrize("method", sorted(PLANTED_METHODS))
def test_planted_track_ranked_first(method: str, planted: tuple) -> None:
    model, batch, planted_index = planted
    explanation = PLANTED_METHODS[method](model).explain(batch, target="H")
    score = track_scores(explanation)
    assert (rank_within_jets(score, batch.batch)[planted_index] == 0).all()
    others = torch.ones_like(score, dtype=torch.bool)
    others[planted_index] = False
    assert (score[planted_index] > score[others].max()).all()


@pytest.mark.parametrize("name", ["bernmask", "bernmask_p"])
def test_masks_rank_planted_track_first(name: str, planted: tuple) -> None:
    # Keeping only the planted track raises logit_H = x_0(planted) / (tracks kept): masks should learn that.
    model, batch, planted_index = planted
    options = {"bernmask": {"steps": 150}, "bernmask_p": {"epochs": 150, "lr": 0.01}}[name]
    explanation = get_explainer(name, model, **options).explain(batch, target="H")
    assert (rank_within_jets(track_scores(explanation), batch.batch)[planted_index] == 0).all()


def test_integrated_gradients_completeness(model: InteractionNetwork, jets: Batch) -> None:
    # Σ relevance of a jet = logit(x) - logit(baseline); the baseline is standardised input 0.
    explanation = get_explainer("integrated_gradients", model, steps=256).explain(jets, target="H")
    per_jet = torch.zeros(jets.num_graphs, dtype=torch.float64).index_add_(
        0, jets.batch, explanation.node.sum(1)
    )
    with torch.no_grad():
        baseline = target_logit(
            model, jets, logits_with_standardized(model, jets, torch.zeros_like(jets.x)), "H"
        )
    torch.testing.assert_close(per_jet, explanation.logit - baseline, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_saliency_matches_finite_differences(
    input_space: str, model: InteractionNetwork, jets: Batch
) -> None:
    explanation = get_explainer("saliency", model, input=input_space).explain(jets, target="H")
    track, feature, step = 6, 2, 1e-6
    reference = standardize(model, jets.x) if input_space == "standardized" else jets.x

    def logit(point: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if input_space == "standardized":
                return target_logit(model, jets, logits_with_standardized(model, jets, point), "H")
            moved = jets.clone()
            moved.x = point
            return target_logit(model, moved, model(moved), "H")

    shifted = reference.clone()
    shifted[track, feature] += step
    jet = int(jets.batch[track])
    difference = (logit(shifted) - logit(reference))[jet] / step
    assert float(explanation.node[track, feature]) == pytest.approx(
        abs(float(difference)), rel=1e-4, abs=1e-7
    )


@pytest.mark.parametrize("name", ["saliency", "gradient_x_input", "integrated_gradients", "gradgam"])
def test_batch_invariance(name: str, model: InteractionNetwork) -> None:
    # Jets explained together or one by one give the same relevance.
    sizes = [3, 6, 2]
    together = (
        get_explainer(name, model, **FAST_OPTIONS.get(name, {})).explain(make_jets(sizes).to_batch()).node
    )
    jets = make_jets(sizes)
    alone = [
        get_explainer(name, model, **FAST_OPTIONS.get(name, {})).explain(jets.select([i]).to_batch()).node
        for i in range(len(sizes))
    ]
    torch.testing.assert_close(together, torch.cat(alone))


def test_gradient_x_input_is_input_times_saliency_sign(model: InteractionNetwork, jets: Batch) -> None:
    saliency = get_explainer("saliency", model, input="raw").explain(jets).node
    product = get_explainer("gradient_x_input", model, input="raw").explain(jets).node
    torch.testing.assert_close(product.abs(), saliency * jets.x.abs())


def test_feature_rankings_read_by_name(model: InteractionNetwork, jets: Batch) -> None:
    pt = get_explainer("track_pt", model, feature_names=FEATURE_NAMES).explain(jets).node
    impact = get_explainer("impact_parameter", model, feature_names=FEATURE_NAMES).explain(jets).node
    torch.testing.assert_close(pt[:, 0], jets.x[:, 0].abs())
    torch.testing.assert_close(impact[:, 0], jets.x[:, 1].abs())
    # Without track_dxysig the CMS b-tag significance is used.
    names = ("a", "b", "trackBTag_Sip2dSig", "c", "d")
    fallback = get_explainer("impact_parameter", model, feature_names=names).explain(jets).node
    torch.testing.assert_close(fallback[:, 0], jets.x[:, 2].abs())


def test_feature_ranking_missing_feature(model: InteractionNetwork) -> None:
    with pytest.raises(InputError, match="track_pt, track_ptrel"):
        get_explainer("track_pt", model, feature_names=("f0", "f1", "f2", "f3", "f4"))


def test_random_ranking_is_seeded(model: InteractionNetwork, jets: Batch) -> None:
    explainer = get_explainer("random", model, seed=5)
    first, second = explainer.explain(jets).node, explainer.explain(jets).node
    assert not torch.equal(first, second)  # batches of one run are independent
    again = get_explainer("random", model, seed=5)
    torch.testing.assert_close(first, again.explain(jets).node)
    torch.testing.assert_close(second, again.explain(jets).node)
    assert not torch.equal(first, get_explainer("random", model, seed=6).explain(jets).node)


def test_mask_explainers_are_seeded_and_leave_the_model(model: InteractionNetwork, jets: Batch) -> None:
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = get_explainer("bernmask", model, steps=10, seed=3).explain(jets).node
    torch.testing.assert_close(first, get_explainer("bernmask", model, steps=10, seed=3).explain(jets).node)
    get_explainer("bernmask_p", model, epochs=3).explain(jets)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key])
    assert all(parameter.grad is None for parameter in model.parameters())
