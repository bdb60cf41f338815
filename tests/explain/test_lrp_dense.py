"""The dense HIN path of LRP-ε against the generic layer-by-layer path (float64)."""

from __future__ import annotations

import copy

import pytest
import torch

from hepxai.explain import LRP, GradientTimesInput, Saliency
from hepxai.models import dense
from hepxai.models.dense import dense_applies, dense_forward, is_fully_connected

SIZES = [1, 2, 5, 9, 4, 30, 9, 1, 100]


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
@pytest.mark.parametrize("target", ["H", "QCD", "H-QCD"])
def test_without_epsilon_equals_the_generic_path(make_model, make_batch, input_space, target):
    # ε = 0: merging affine maps and commuting the mean change nothing; only the float order differs.
    model, batch = make_model(31), make_batch(32, SIZES)
    assert is_fully_connected(batch, torch.bincount(batch.batch))
    fast = LRP(model, epsilon=0.0, input=input_space).explain(batch, target=target)
    generic = LRP(model, epsilon=0.0, input=input_space, fast=False).explain(batch, target=target)
    for field in ("node", "edge", "edge_significance", "absorbed", "logit"):
        torch.testing.assert_close(getattr(fast, field), getattr(generic, field), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_epsilon_difference_is_first_order(make_model, make_batch, input_space):
    # The stabiliser acts at fewer places in the merged network: the difference to the generic path is
    # O(ε). Shrinking ε tenfold shrinks it tenfold, and it is a small multiple of ε.
    model, batch = make_model(33), make_batch(34, SIZES)
    differences = []
    for epsilon in (1e-5, 1e-6):
        fast = LRP(model, epsilon=epsilon, input=input_space).explain(batch)
        generic = LRP(model, epsilon=epsilon, input=input_space, fast=False).explain(batch)
        differences.append(_relative(fast.node, generic.node))
        assert differences[-1] < 100 * epsilon
        total = lambda e: e.absorbed.sum()  # noqa: E731
        assert abs(float(total(fast) - total(generic))) < 100 * epsilon * float(generic.logit.abs().sum())
    assert 0.05 < differences[1] / differences[0] < 0.2


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
def test_groups_and_chunks_change_nothing(make_model, make_batch, monkeypatch, sizes, input_space):
    # Small groups and chunks: per-track steps run per group, edge blocks per chunk, rows are slices
    # (consecutive jets of one size) or indices (sorted by size); the result must not depend on them.
    model, batch = make_model(46), make_batch(47, sizes)
    whole = LRP(model, epsilon=0.0, input=input_space).explain(batch, target="H-QCD")
    hidden = model.hidden
    monkeypatch.setattr(dense, "STORE_ELEMENTS", 3 * 9 * 9 * hidden)
    monkeypatch.setattr(dense, "CHUNK_ELEMENTS", 2 * 7 * 7 * hidden)
    groups = list(dense.groups(batch, hidden, batch.x))
    if max(sizes) > 1:  # jets without edges cost no store: they share one group
        assert len(groups) > 1
        assert any(len(group.chunks) > 1 for group in groups)
    split = LRP(model, epsilon=0.0, input=input_space).explain(batch, target="H-QCD")
    generic = LRP(model, epsilon=0.0, input=input_space, fast=False).explain(batch, target="H-QCD")
    for field in ("node", "edge", "edge_significance", "absorbed", "logit"):
        torch.testing.assert_close(getattr(split, field), getattr(whole, field), rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(getattr(split, field), getattr(generic, field), rtol=1e-9, atol=1e-10)
    with torch.no_grad():
        torch.testing.assert_close(dense.dense_forward(model, batch), model(batch), rtol=1e-10, atol=1e-10)
