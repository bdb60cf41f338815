"""LRP for the Interaction Network: conservation, LRP-0, zennit, an explicit re-implementation, batching."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain import LRP, Epsilon, Gamma, ZPlus, get_explainer
from hepxai.explain.composites import epsilon_gamma, epsilon_plus
from hepxai.models import CLASSES

TARGET_SEED = {"H": {"H": 1.0}, "QCD": {"QCD": 1.0}, "H-QCD": {"H": 1.0, "QCD": -1.0}}


def per_jet(explanation) -> torch.Tensor:
    return scatter(
        explanation.node.sum(dim=1), explanation.batch, dim=0, dim_size=explanation.num_jets, reduce="sum"
    )


def model_logit(model, batch: Batch, target: str) -> torch.Tensor:
    with torch.no_grad():
        logits = model.eval()(batch)
    return sum(sign * logits[:, CLASSES.index(name)] for name, sign in TARGET_SEED[target].items())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("num_tracks", [[2], [60], [1, 5, 2], [13, 60, 2, 7, 31, 44, 3]])
@pytest.mark.parametrize("input_space", ["standardized", "raw"])
@pytest.mark.parametrize("target", ["H", "QCD", "H-QCD"])
@pytest.mark.parametrize("fast", [True, False])
def test_conservation_on_random_models(make_model, make_batch, seed, num_tracks, input_space, target, fast):
    model = make_model(seed)
    batch = make_batch(seed + 100, num_tracks)
    explanation = LRP(model, input=input_space, fast=fast).explain(batch, target=target)
    torch.testing.assert_close(explanation.logit, model_logit(model, batch, target), rtol=1e-10, atol=1e-10)
    assert (
        explanation.absorbed.abs().max() > 1e-4
    )  # the biases do take relevance: the check below is not trivial
    torch.testing.assert_close(
        per_jet(explanation) + explanation.absorbed, explanation.logit, rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_conservation_on_sparse_graphs_and_with_other_rules(make_model, make_batch, seed):
    model = make_model(seed)
    batch = make_batch(seed, [9, 1, 20, 4, 33], keep_edges=0.3)
    rules = {
        "edge_mlp.0": Gamma(0.25),
        "node_mlp_1": ZPlus(),
        "node_mlp_2.3": Gamma(0.5),
        "global_mlp.0": ZPlus(),
    }
    for input_space in ("standardized", "raw"):
        explanation = LRP(model, input=input_space, rules=rules).explain(batch, target="H-QCD")
        torch.testing.assert_close(
            per_jet(explanation) + explanation.absorbed, explanation.logit, rtol=1e-10, atol=1e-10
        )


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
@pytest.mark.parametrize("target", ["H", "QCD", "H-QCD"])
def test_conservation_on_the_cms_checkpoint(cms_model, cms_jet, input_space, target):
    explanation = LRP(cms_model, input=input_space).explain(cms_jet, target=target)
    expected = {"QCD": 3.513144, "H": -1.476648}
    expected["H-QCD"] = expected["H"] - expected["QCD"]
    torch.testing.assert_close(
        explanation.logit, torch.tensor([expected[target]], dtype=torch.float64), rtol=0, atol=2e-6
    )
    torch.testing.assert_close(
        per_jet(explanation) + explanation.absorbed, explanation.logit, rtol=1e-12, atol=1e-12
    )


def test_cms_checkpoint_in_float32_is_finite_and_conserves(cms_model, cms_jet):
    model = cms_model.float()
    try:
        assert ((cms_jet.x == 0).sum(0) > 0).sum() >= 5  # several features are exactly zero on some tracks
        for input_space in ("standardized", "raw"):
            explanation = LRP(model, input=input_space).explain(cms_jet, target="H")
            for field in (
                explanation.node,
                explanation.edge,
                explanation.edge_significance,
                explanation.absorbed,
            ):
                assert torch.isfinite(field).all()
            torch.testing.assert_close(
                per_jet(explanation) + explanation.absorbed, explanation.logit, rtol=1e-4, atol=1e-4
            )
    finally:
        cms_model.double()


@pytest.mark.parametrize("input_space", ["standardized", "raw"])
def test_lrp0_on_a_bias_free_model_is_gradient_times_input(make_model, make_batch, input_space):
    model = make_model(7, bias=False)
    batch = make_batch(8, [4, 11, 2])
    explanation = LRP(model, epsilon=0.0, input=input_space).explain(batch, target="H")
    assert torch.equal(explanation.absorbed, torch.zeros_like(explanation.absorbed))
    # Without biases the input BatchNorm is linear, x_std * d/dx_std = x * d/dx: both inputs agree.
    x = batch.x.clone().requires_grad_(True)
    logits = model(Batch(x=x, edge_index=batch.edge_index, batch=batch.batch, ptr=batch.ptr))
    (gradient,) = torch.autograd.grad(logits[:, CLASSES.index("H")].sum(), x)
    torch.testing.assert_close(explanation.node, x.detach() * gradient, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(per_jet(explanation), explanation.logit, rtol=1e-10, atol=1e-12)


def test_no_nan_on_zero_and_boolean_features(make_model, make_batch):
    batch = make_batch(9, [6, 3, 1])
    batch.x[:, 0] = 0.0
    batch.x[:, 1] = (batch.x[:, 1] > 0).double()
    batch.x[::2, 2] = 0.0
    for model, epsilon in ((make_model(10), 1e-6), (make_model(10), 0.0), (make_model(11, bias=False), 0.0)):
        for input_space in ("standardized", "raw"):
            explanation = LRP(model, epsilon=epsilon, input=input_space).explain(batch, target="H")
            assert torch.isfinite(explanation.node).all()
            assert torch.isfinite(explanation.edge).all()
            assert torch.isfinite(explanation.absorbed).all()
    # All-zero input, bias-free model, LRP-0: every pre-activation is exactly 0 (0/0 everywhere).
    zero_batch = make_batch(12, [4, 2])
    zero_batch.x.zero_()
    explanation = LRP(make_model(11, bias=False), epsilon=0.0, input="raw").explain(zero_batch)
    assert torch.equal(explanation.node, torch.zeros_like(explanation.node))
    assert torch.equal(explanation.edge_significance, torch.zeros_like(explanation.edge_significance))


def test_batch_invariance(make_model, make_batch):
    model = make_model(13)
    sizes = [5, 1, 17, 2, 9]
    batch = make_batch(14, sizes)
    lrp = LRP(model, rules={"global_mlp.0": Gamma(0.25)})
    together = lrp.explain(batch, target="H-QCD")
    alone = [lrp.explain(jet, target="H-QCD") for jet in batch.to_data_list()]
    torch.testing.assert_close(together.node, torch.cat([e.node for e in alone]), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(together.edge, torch.cat([e.edge for e in alone]), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        together.edge_significance, torch.cat([e.edge_significance for e in alone]), rtol=1e-12, atol=1e-12
    )
    torch.testing.assert_close(
        together.absorbed, torch.cat([e.absorbed for e in alone]), rtol=1e-12, atol=1e-12
    )
    torch.testing.assert_close(together.logit, torch.cat([e.logit for e in alone]), rtol=1e-12, atol=1e-12)


def test_results_do_not_depend_on_training_mode(make_model, make_batch):
    model = make_model(15)
    batch = make_batch(16, [6, 4])
    in_eval = LRP(model).explain(batch)
    in_training = LRP(model.train()).explain(batch)
    torch.testing.assert_close(in_training.node, in_eval.node, rtol=0, atol=0)


def test_edge_relevance_and_both_aggregations(make_model, make_batch):
    model = make_model(17)
    batch = make_batch(18, [6, 3, 8], keep_edges=0.7)
    source, target = batch.edge_index
    num_tracks, num_features = batch.x.shape
    summed = LRP(model, aggregate="sum").explain(batch)
    averaged = LRP(model, aggregate="mean").explain(batch)
    torch.testing.assert_close(summed.edge, averaged.edge, rtol=0, atol=0)

    def spread(reduce: str) -> torch.Tensor:
        return scatter(
            summed.edge[:, :num_features], source, dim=0, dim_size=num_tracks, reduce=reduce
        ) + scatter(summed.edge[:, num_features:], target, dim=0, dim_size=num_tracks, reduce=reduce)

    # Both are a track's direct relevance (through node MLP 2) plus its edges' relevance, summed or averaged.
    torch.testing.assert_close(
        summed.node - spread("sum"), averaged.node - spread("mean"), rtol=1e-10, atol=1e-12
    )
    significance = scatter(summed.edge_significance, batch.batch[source], dim=0, reduce="sum")
    torch.testing.assert_close(significance, torch.ones(3, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    norm = summed.edge.norm(dim=1)
    first = batch.batch[source] == 0
    torch.testing.assert_close(summed.edge_significance[first], norm[first] / norm[first].sum())


def test_bad_arguments_are_rejected(make_model, make_batch):
    model = make_model(0)
    with pytest.raises(ValueError, match=r"unknown rules key 'edge_mlp\.2'"):
        LRP(model, rules={"edge_mlp.2": Epsilon()})
    with pytest.raises(ValueError, match="input must be"):
        LRP(model, input="scaled")
    with pytest.raises(ValueError, match="target must be one of"):
        LRP(model).explain(make_batch(0, [3]), target="W")
    with pytest.raises(ValueError, match=r"expected \(num_nodes, 5\)"):
        LRP(model).explain(make_batch(0, [3], num_features=4))
    assert isinstance(get_explainer("lrp", model, epsilon=1e-3), LRP)


# ---------------------------------------------------------------------------------------------------------
# An explicit layer-by-layer LRP-ε for one jet, written from the formulas with dense matrices.


def _fold(mlp) -> list[tuple[torch.Tensor, torch.Tensor]]:
    linear, batchnorm, _, last = mlp
    gain = batchnorm.weight / torch.sqrt(batchnorm.running_var + batchnorm.eps)
    weight = torch.diag(gain) @ linear.weight
    bias = gain * (linear.bias - batchnorm.running_mean) + batchnorm.bias
    return [(weight.detach(), bias.detach()), (last.weight.detach(), last.bias.detach())]


def _sign(z):
    return torch.where(z >= 0, 1.0, -1.0).double()


def explicit_lrp(model, x, edge_index, target: str, epsilon: float):
    """Returns (node relevance summed, node relevance as in the paper, edge relevance, absorbed, logit)."""
    num_tracks, num_features = x.shape
    source, target_track = edge_index
    bn = model.bn
    x_std = (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    x_std = x_std.detach()
    incoming = torch.zeros(
        num_tracks, len(source), dtype=torch.float64
    )  # incoming[i, e] = 1 if edge e ends at i
    incoming[target_track, torch.arange(len(source))] = 1.0
    degree = incoming.sum(1)
    absorbed = [0.0]

    def two_layers(params, a):
        (w0, b0), (w1, b1) = params
        z0 = a @ w0.T + b0
        hidden = torch.relu(z0)
        return z0, hidden, hidden @ w1.T + b1

    def rule(a, weight, bias, z, relevance):  # R_j = Σ_k a_j w_kj R_k / (z_k + ε sign z_k)
        ratio = relevance / (z + epsilon * _sign(z))
        absorbed[0] += float(((bias + epsilon * _sign(z)) * ratio).sum())
        return a * (ratio @ weight)

    def back(params, a, hidden, z1, relevance):  # through Linear, ReLU (relevance unchanged), Linear
        (w0, b0), (w1, b1) = params
        relevance_hidden = rule(hidden, w1, b1, z1, relevance)
        return rule(a, w0, b0, a @ w0.T + b0, relevance_hidden)

    edge_params, message_params = _fold(model.edge_mlp), _fold(model.node_mlp_1)
    node_params, global_params = _fold(model.node_mlp_2), _fold(model.global_mlp)
    edge_in = torch.cat([x_std[source], x_std[target_track]], 1)
    _, edge_hidden, edge = two_layers(edge_params, edge_in)
    message_in = torch.cat([x_std[source], edge], 1)
    _, message_hidden, message = two_layers(message_params, message_in)
    aggregated = incoming @ message / degree.clamp(min=1)[:, None]
    node_in = torch.cat([x_std, aggregated], 1)
    _, node_hidden, node = two_layers(node_params, node_in)
    pooled = node.mean(0, keepdim=True)
    _, global_hidden, logits = two_layers(global_params, pooled)

    seed = torch.zeros_like(logits)
    for name, sign in TARGET_SEED[target].items():
        seed[0, CLASSES.index(name)] = sign
    relevance_pooled = back(global_params, pooled, global_hidden, logits, logits * seed)
    relevance_node = (
        (node / num_tracks) / pooled * relevance_pooled
    )  # the mean over tracks, split proportionally
    relevance_node_in = back(node_params, node_in, node_hidden, node, relevance_node)
    relevance_direct, relevance_aggregated = (
        relevance_node_in[:, :num_features],
        relevance_node_in[:, num_features:],
    )
    # mean over incoming edges, split proportionally: R_m[e] = (m[e] / deg) / agg[target e] * R_agg[target e]
    share = relevance_aggregated / aggregated / degree.clamp(min=1)[:, None]
    relevance_message = message * (incoming.T @ share)
    relevance_message_in = back(message_params, message_in, message_hidden, message, relevance_message)
    relevance_source_message = relevance_message_in[:, :num_features]
    relevance_edge_in = back(edge_params, edge_in, edge_hidden, edge, relevance_message_in[:, num_features:])
    edge_relevance = relevance_edge_in.clone()
    edge_relevance[:, :num_features] += relevance_source_message
    outgoing = torch.zeros(num_tracks, len(source), dtype=torch.float64)
    outgoing[source, torch.arange(len(source))] = 1.0
    node_sum = (
        relevance_direct
        + outgoing @ edge_relevance[:, :num_features]
        + incoming @ edge_relevance[:, num_features:]
    )
    node_mean = (
        relevance_direct
        + outgoing @ relevance_source_message / outgoing.sum(1).clamp(min=1)[:, None]
        + outgoing @ relevance_edge_in[:, :num_features] / outgoing.sum(1).clamp(min=1)[:, None]
        + incoming @ relevance_edge_in[:, num_features:] / degree.clamp(min=1)[:, None]
    )
    return node_sum, node_mean, edge_relevance, absorbed[0], float((logits * seed).sum())


@pytest.mark.parametrize(
    ("seed", "num_tracks", "target", "epsilon"),
    [(20, 2, "H", 1e-6), (21, 7, "QCD", 1e-6), (22, 12, "H-QCD", 0.1), (23, 5, "H", 0.0)],
)
def test_agrees_with_an_explicit_layer_by_layer_implementation(
    make_model, make_batch, seed, num_tracks, target, epsilon
):
    model = make_model(seed)
    batch = make_batch(seed, [3, num_tracks])  # explain two jets, compare the second
    averaged = LRP(model, epsilon=epsilon, aggregate="mean").explain(batch, target=target)
    jet = batch.to_data_list()[1]
    node_sum, node_mean, edge, absorbed, logit = explicit_lrp(model, jet.x, jet.edge_index, target, epsilon)
    tracks, edges = batch.batch == 1, batch.batch[batch.edge_index[0]] == 1
    torch.testing.assert_close(averaged.node[tracks], node_mean, rtol=1e-9, atol=1e-12)
    for fast in (False, True):  # the generic path and the model's dense canonizer
        summed = LRP(model, epsilon=epsilon, fast=fast).explain(batch, target=target)
        torch.testing.assert_close(summed.node[tracks], node_sum, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(summed.edge[edges], edge, rtol=1e-9, atol=1e-12)
        assert summed.absorbed[1].item() == pytest.approx(absorbed, rel=1e-9, abs=1e-12)
        assert summed.logit[1].item() == pytest.approx(logit, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# zennit: relevance itself flows backward as the "gradient", rules attach to modules, BatchNorm is merged by
# its canonizer. The HIN's averages (over incoming edges, over the tracks of a jet) become modules with
# zennit's Norm rule (proportional split); concatenation and gather route relevance unchanged.


class _Mean(torch.nn.Module):
    """Scatter mean over ``index`` (set before each call), as a module zennit can attach a rule to."""

    index: torch.Tensor
    size: int

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return scatter(values, self.index, dim=0, dim_size=self.size, reduce="mean")


class ZennitHIN(torch.nn.Module):
    """The HIN from the standardised features on, with the model's own MLP modules."""

    def __init__(self, model) -> None:
        super().__init__()
        self.edge_mlp, self.node_mlp_1 = model.edge_mlp, model.node_mlp_1
        self.node_mlp_2, self.global_mlp = model.node_mlp_2, model.global_mlp
        self.aggregate, self.pool = _Mean(), _Mean()

    def forward(self, x_std, edge_index, jet, num_jets):
        source, target = edge_index
        edge = self.edge_mlp(torch.cat([x_std[source], x_std[target]], 1))
        message = self.node_mlp_1(torch.cat([x_std[source], edge], 1))
        self.aggregate.index, self.aggregate.size = target, x_std.shape[0]
        node = self.node_mlp_2(torch.cat([x_std, self.aggregate(message)], 1))
        self.pool.index, self.pool.size = jet, num_jets
        return self.global_mlp(self.pool(node))


def zennit_model(make_model, seed: int):
    """A random model whose BatchNorms have ``eps = 0``.

    zennit's canonizer leaves each merged BatchNorm as ``x / sqrt(1 + eps)``, not the identity; with
    ``eps = 0`` it is exact, so the two can agree to float precision.
    """
    model = make_model(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.eps = 0.0
    return model


def zennit_relevance(zennit, model, batch: Batch, target: str, name_map=()) -> torch.Tensor:
    """zennit's relevance of the standardised features."""
    composite = zennit.composites.NameLayerMapComposite(
        name_map=[*name_map, (["aggregate", "pool"], zennit.rules.Norm(stabilizer=1e-300))],
        layer_map=[(torch.nn.Linear, zennit.rules.Epsilon(1e-6))],
        canonizers=[zennit.canonizers.SequentialMergeBatchNorm()],
    )
    with torch.no_grad():
        x_std = model.bn(batch.x)
    x_std.requires_grad_(True)
    wrapper = ZennitHIN(model).eval()
    with composite.context(wrapper) as modified:
        logits = modified(x_std, batch.edge_index, batch.batch, batch.num_graphs)
        seed = torch.zeros_like(logits)
        for name, sign in TARGET_SEED[target].items():
            seed[:, CLASSES.index(name)] = sign
        (relevance,) = torch.autograd.grad(logits, x_std, grad_outputs=logits * seed)
    return relevance


@pytest.mark.parametrize("target", ["H", "H-QCD"])
def test_agrees_with_zennit_epsilon(zennit, make_model, make_batch, target):
    model = zennit_model(make_model, 30)
    batch = make_batch(31, [2, 9, 4])
    reference = zennit_relevance(zennit, model, batch, target)
    explanation = LRP(model, epsilon=1e-6, fast=False).explain(batch, target=target)
    assert explanation.node.abs().max() > 1e-3
    torch.testing.assert_close(explanation.node, reference, rtol=1e-9, atol=1e-12)


def test_agrees_with_zennit_gamma_and_zplus(zennit, make_model, make_batch):
    model = zennit_model(make_model, 32)
    batch = make_batch(33, [6, 3])
    name_map = [
        (["edge_mlp.0", "node_mlp_2.3"], zennit.rules.Gamma(0.25)),
        (["node_mlp_1.3", "global_mlp.0"], zennit.rules.ZPlus()),
    ]
    reference = zennit_relevance(zennit, model, batch, "H", name_map)
    rules = {
        "edge_mlp.0": Gamma(0.25),
        "node_mlp_2.3": Gamma(0.25),
        "node_mlp_1.3": ZPlus(),
        "global_mlp.0": ZPlus(),
    }
    explanation = LRP(model, rules=rules).explain(batch, target="H")
    torch.testing.assert_close(explanation.node, reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("composite", ["epsilon_gamma", "epsilon_plus"])
def test_composites_agree_with_zennit_and_conserve(zennit, make_model, make_batch, composite):
    # ε above, γ or z⁺ on the message layers (zennit's EpsilonGammaBox / EpsilonPlus idea).
    model = zennit_model(make_model, 34)
    batch = make_batch(35, [5, 1, 4])
    lower = ["edge_mlp", "node_mlp_1"]
    rules = epsilon_gamma(lower) if composite == "epsilon_gamma" else epsilon_plus(lower)
    below = zennit.rules.Gamma(0.25) if composite == "epsilon_gamma" else zennit.rules.ZPlus()
    layers = [f"{module}.{index}" for module in lower for index in (0, 3)]
    reference = zennit_relevance(zennit, model, batch, "H", [(layers, below)])
    explanation = LRP(model, rules=rules).explain(batch, target="H")
    torch.testing.assert_close(explanation.node, reference, rtol=1e-9, atol=1e-12)
    # It differs from LRP-ε, and conserves the logit with what every rule absorbs.
    assert not torch.allclose(explanation.node, LRP(model).explain(batch, target="H").node, rtol=1e-3)
    per_jet = scatter(explanation.node.sum(dim=1), batch.batch, dim=0, dim_size=batch.num_graphs)
    torch.testing.assert_close(per_jet + explanation.absorbed, explanation.logit, rtol=1e-10, atol=1e-12)
