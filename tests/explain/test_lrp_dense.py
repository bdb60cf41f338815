"""The dense HIN path of LRP-ε against the generic path and an explicit layer-by-layer LRP-ε."""

from __future__ import annotations

import copy
import types

import pytest
import torch

from hepxai.explain import LRP, GradientTimesInput, Saliency
from hepxai.models import dense
from hepxai.models.dense import dense_applies, dense_forward, is_fully_connected

from .test_lrp import explicit_lrp

SIZES = [1, 2, 5, 9, 4, 30, 9, 1, 100]


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
@pytest.mark.parametrize("target", ["H", "QCD", "H-QCD"])
def test_without_epsilon_equals_the_generic_path(make_model, make_batch, input_space, target):
    # ε = 0: the merged form's gradient is the model's gradient; only the float order differs.
    model, batch = make_model(31), make_batch(32, SIZES)
    assert is_fully_connected(batch, torch.bincount(batch.batch))
    fast = LRP(model, epsilon=0.0, input=input_space).explain(batch, target=target)
    generic = LRP(model, epsilon=0.0, input=input_space, fast=False).explain(batch, target=target)
    for field in ("node", "edge", "edge_significance", "absorbed", "logit"):
        torch.testing.assert_close(getattr(fast, field), getattr(generic, field), rtol=1e-9, atol=1e-10)


def _scaled_difference(fast, reference) -> float:
    """Largest difference of node relevance (per feature and per track) over the largest |track relevance|."""
    scale = reference.node.sum(dim=1).abs().max()
    per_feature = (fast.node.to(reference.node) - reference.node).abs().max()
    per_track = (fast.node.sum(dim=1).to(reference.node) - reference.node.sum(dim=1)).abs().max()
    return float(max(per_feature, per_track) / scale)


@pytest.mark.parametrize("epsilon", [1e-6, 1e-2])
@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_with_epsilon_equals_the_generic_path(make_model, make_batch, epsilon, input_space):
    # ε acts at the output of every Linear of the model, per edge, in both paths: LRP-ε of one network.
    model, batch = make_model(33), make_batch(34, SIZES)
    fast = LRP(model, epsilon=epsilon, input=input_space).explain(batch, target="H-QCD")
    generic = LRP(model, epsilon=epsilon, input=input_space, fast=False).explain(batch, target="H-QCD")
    assert _scaled_difference(fast, generic) <= 1e-9
    for field in ("edge", "edge_significance", "absorbed", "logit"):
        torch.testing.assert_close(getattr(fast, field), getattr(generic, field), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("epsilon", [1e-6, 1e-2])
def test_with_epsilon_in_float32_follows_float64(make_model, make_batch, epsilon):
    model, batch = make_model(35), make_batch(36, SIZES)
    reference = LRP(model, epsilon=epsilon, fast=False).explain(batch, target="H")
    single = copy.deepcopy(model).float()
    batch32 = batch.clone()
    batch32.x = batch32.x.float()
    fast = LRP(single, epsilon=epsilon).explain(batch32, target="H")
    assert fast.node.dtype == torch.float32
    assert _scaled_difference(fast, reference) <= 1e-4


@pytest.mark.parametrize("epsilon", [1e-6, 1e-2])
@pytest.mark.parametrize("target", ["H", "H-QCD"])
def test_on_the_cms_checkpoint_equals_the_layer_by_layer_lrp(cms_model, cms_jet, epsilon, target):
    # The real jet and checkpoint, where merging layers moved ε by 5.9e-4 of the largest track relevance.
    fast = LRP(cms_model, epsilon=epsilon).explain(cms_jet, target=target)
    generic = LRP(cms_model, epsilon=epsilon, fast=False).explain(cms_jet, target=target)
    assert _scaled_difference(fast, generic) <= 1e-9
    node, _, edge, absorbed, _ = explicit_lrp(cms_model, cms_jet.x, cms_jet.edge_index, target, epsilon)
    explicit = types.SimpleNamespace(node=node)
    assert _scaled_difference(fast, explicit) <= 1e-9
    torch.testing.assert_close(fast.edge, edge, rtol=1e-9, atol=1e-9 * float(node.abs().max()))
    assert fast.absorbed.item() == pytest.approx(absorbed, rel=1e-9)
    per_jet = fast.node.sum() + fast.absorbed
    torch.testing.assert_close(per_jet, fast.logit, rtol=1e-12, atol=1e-12)
    single = LRP(cms_model.float(), epsilon=epsilon).explain(cms_jet, target=target)
    cms_model.double()
    assert _scaled_difference(single, generic) <= 1e-4


def test_conserves_and_skips_edges_when_asked(make_model, make_batch):
    model, batch = make_model(35), make_batch(36, SIZES)
    with_edges = LRP(model).explain(batch, target="H-QCD")
    without = LRP(model, edges=False).explain(batch, target="H-QCD")
    assert without.edge is None
    assert without.edge_significance is None
    torch.testing.assert_close(without.node, with_edges.node, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(without.absorbed, with_edges.absorbed, rtol=1e-10, atol=1e-12)
    per_jet = torch.zeros(batch.num_graphs, dtype=torch.float64).index_add_(
        0, batch.batch, without.node.sum(1)
    )
    torch.testing.assert_close(per_jet + without.absorbed, without.logit, rtol=1e-10, atol=1e-10)


def test_falls_back_on_sparse_graphs(make_model, make_batch):
    model, batch = make_model(37), make_batch(38, [5, 7], keep_edges=0.7)
    assert not is_fully_connected(batch, torch.bincount(batch.batch))
    fast = LRP(model).explain(batch)
    generic = LRP(model, fast=False).explain(batch)
    torch.testing.assert_close(fast.node, generic.node, rtol=0, atol=0)


@pytest.mark.parametrize("explainer", [GradientTimesInput, Saliency])
@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_gradient_explainers_share_the_dense_path(make_model, make_batch, explainer, input_space):
    model, batch = make_model(39), make_batch(40, SIZES)
    fast = explainer(model, input=input_space).explain(batch, target="H")
    generic = explainer(model, input=input_space, fast=False).explain(batch, target="H")
    torch.testing.assert_close(fast.node, generic.node, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(fast.logit, generic.logit, rtol=1e-10, atol=1e-10)


def test_dense_forward_equals_forward_in_eval_mode(make_model, make_batch):
    model, batch = make_model(41), make_batch(42, SIZES)
    assert dense_applies(model, batch)
    with torch.no_grad():
        torch.testing.assert_close(dense_forward(model, batch), model(batch), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(model.fast_forward(batch), model(batch), rtol=1e-10, atol=1e-10)
    assert not dense_applies(model, make_batch(43, [5, 6], keep_edges=0.5))


def test_folded_parameters_follow_changes_of_the_model(make_model, make_batch):
    model, batch = make_model(44), make_batch(45, [6, 3])
    before = LRP(model).explain(batch).node
    with torch.no_grad():
        model.node_mlp_1[0].weight.mul_(1.5)  # an in-place change, as an optimiser step makes
        model.global_mlp[1].running_mean.add_(0.2)
    after = LRP(model).explain(batch)
    assert not torch.allclose(after.node, before)
    fresh = LRP(copy.deepcopy(model)).explain(batch)  # a new model object: folded from scratch
    torch.testing.assert_close(after.node, fresh.node, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "sizes",
    [[7] * 9, [1, 2, 5, 9, 4, 30, 9, 1, 5, 5, 9], [1, 1, 1]],
    ids=["one size", "mixed sizes", "single tracks"],
)
@pytest.mark.parametrize("input_space", ["standardized", "raw"])
@pytest.mark.parametrize("epsilon", [0.0, 1e-6])
def test_groups_and_chunks_change_nothing(make_model, make_batch, monkeypatch, sizes, input_space, epsilon):
    # Small groups and chunks: per-track steps run per group, edge blocks per chunk, rows are slices
    # (consecutive jets of one size) or indices (sorted by size); the result must not depend on them,
    # in the merged form (ε = 0) and layer by layer (ε > 0).
    model, batch = make_model(46), make_batch(47, sizes)
    whole = LRP(model, epsilon=epsilon, input=input_space).explain(batch, target="H-QCD")
    hidden = model.hidden
    monkeypatch.setattr(dense, "STORE_ELEMENTS", 3 * 9 * 9 * hidden)
    monkeypatch.setattr(dense, "CHUNK_ELEMENTS", 2 * 7 * 7 * hidden)
    groups = list(dense.groups(batch, hidden, batch.x))
    if max(sizes) > 1:  # jets without edges cost no store: they share one group
        assert len(groups) > 1
        assert any(len(group.chunks) > 1 for group in groups)
    split = LRP(model, epsilon=epsilon, input=input_space).explain(batch, target="H-QCD")
    generic = LRP(model, epsilon=epsilon, input=input_space, fast=False).explain(batch, target="H-QCD")
    for field in ("node", "edge", "edge_significance", "absorbed", "logit"):
        torch.testing.assert_close(getattr(split, field), getattr(whole, field), rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(getattr(split, field), getattr(generic, field), rtol=1e-9, atol=1e-10)
    with torch.no_grad():
        torch.testing.assert_close(dense.dense_forward(model, batch), model(batch), rtol=1e-10, atol=1e-10)
