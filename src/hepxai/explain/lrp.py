"""Layerwise relevance propagation for the Interaction Network: one forward and one modified backward pass.

Each ``Linear`` layer runs through an autograd function whose backward pass is its LRP rule
(:mod:`hepxai.explain.rules`); everything between the layers (ReLU, concatenation, gather, scatter sum and
mean, the mean over the tracks of a jet) is linear or gating and keeps its ordinary gradient, which already
splits relevance in proportion to each contribution. With the invariant ``grad_a = R_a / a`` the relevance
of any tensor is ``a * grad_a``: of the track features (``node``, the exact sum over every pathway through
the network) and of the per-edge inputs (``edge``, read with tensor hooks). Every BatchNorm is folded with
its eval-mode statistics into the ``Linear`` before it; the input BatchNorm is either the reference point
(``input="standardized"``) or folded into its three consumers (``input="raw"``). What biases and
stabilisers take is summed layer by layer into ``absorbed``, so ``Σ node + absorbed = logit`` per jet is a
check, not a definition. All jets of a batch are explained at once.

Bach et al., "On pixel-wise explanations ... by layer-wise relevance propagation",
PLoS ONE 10 (2015) e0130140;
"Interpreting the Higgs boson Interaction Network with LRP" (HIN-LRP), sections on node and edge relevance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as functional
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.base import TARGETS, Explanation, register_explainer
from hepxai.explain.rules import Epsilon, Rule
from hepxai.models.interaction_network import CLASSES, InteractionNetwork

LAYERS = (
    "edge_mlp.0",
    "edge_mlp.3",
    "node_mlp_1.0",
    "node_mlp_1.3",
    "node_mlp_2.0",
    "node_mlp_2.3",
    "global_mlp.0",
    "global_mlp.3",
)
"""The HIN's ``Linear`` layers, by module name; ``rules`` keys are these, an MLP name, or ``"default"``."""


class _RuleLinear(torch.autograd.Function):
    """``z = a Wᵀ + b`` forward; the rule's backward, adding what bias and ε absorb per jet to ``sink``."""

    @staticmethod
    def forward(
        ctx: Any, inputs: Tensor, weight: Tensor, bias: Tensor, rule: Rule, sink: Tensor, row_jet: Tensor
    ) -> Tensor:
        output = functional.linear(inputs, weight, bias)
        ctx.save_for_backward(inputs if rule.needs_input else None, output)
        ctx.weight, ctx.bias, ctx.rule, ctx.sink, ctx.row_jet = weight, bias, rule, sink, row_jet
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        inputs, output = ctx.saved_tensors
        grad_input, absorbed = ctx.rule.backward(inputs, output, grad_output, ctx.weight, ctx.bias)
        ctx.sink.index_add_(0, ctx.row_jet, absorbed.to(ctx.sink.dtype))
        return grad_input, None, None, None, None, None


@register_explainer("lrp")
class LRP:
    """LRP for :class:`~hepxai.models.InteractionNetwork`, batched over any PyG ``Batch``.

    Args:
        model: The HIN; explained with its eval-mode BatchNorm statistics whatever its mode.
        epsilon: ε of the default :class:`~hepxai.explain.rules.Epsilon` rule.
        input: ``"standardized"``: relevance of the BatchNorm-standardised features (default);
            ``"raw"``: of the raw features, the input BatchNorm folded into its consumers (as the paper).
        rules: Rules per layer: keys ``"default"``, an MLP (``"edge_mlp"``) or a layer (``"edge_mlp.0"``);
            the most specific key wins.
        aggregate: ``"sum"``: node relevance is the exact sum over every pathway (conservative);
            ``"mean"``: the paper's formula, per-edge relevance averaged onto tracks (not conservative).

    Example::

        lrp = LRP(model, rules={"default": Epsilon(1e-6), "edge_mlp.0": Gamma(0.25)})
        explanation = lrp.explain(batch, target="H")
    """

    def __init__(
        self,
        model: InteractionNetwork,
        *,
        epsilon: float = 1e-6,
        input: Literal["standardized", "raw"] = "standardized",
        rules: Mapping[str, Rule] | None = None,
        aggregate: Literal["sum", "mean"] = "sum",
    ) -> None:
        if input not in ("standardized", "raw"):
            msg = f"LRP: input must be 'standardized' or 'raw' (got {input!r})"
            raise ValueError(msg)
        if aggregate not in ("sum", "mean"):
            msg = f"LRP: aggregate must be 'sum' or 'mean' (got {aggregate!r})"
            raise ValueError(msg)
        rules = dict(rules or {})
        valid = {"default", *LAYERS, *{layer.split(".")[0] for layer in LAYERS}}
        for key, rule in rules.items():
            if key not in valid:
                msg = f"LRP: unknown rules key '{key}' (valid: {', '.join(sorted(valid))})"
                raise ValueError(msg)
            if not isinstance(rule, Rule):
                msg = f"LRP: rules['{key}'] must be a Rule, got {type(rule).__name__}"
                raise TypeError(msg)
        default = rules.get("default", Epsilon(epsilon))
        self.model, self.input, self.aggregate = model, input, aggregate
        self.rules = {layer: rules.get(layer, rules.get(layer.split(".")[0], default)) for layer in LAYERS}

    def explain(self, batch: Batch, *, target: str = "H") -> Explanation:
        """Relevance of every track feature and every edge of every jet of ``batch`` for ``target``.

        Args:
            batch: PyG ``Batch`` (or ``Data``) with ``x`` [num_tracks, num_features], ``edge_index`` and
                ``batch``; any graph, any number of jets.
            target: ``"H"``, ``"QCD"`` or ``"H-QCD"`` (the difference of the two logits).

        Raises:
            ValueError: unknown ``target``, or ``x`` does not have the model's number of features.
        """
        if target not in TARGETS:
            msg = f"LRP.explain: target must be one of {', '.join(TARGETS)} (got {target!r})"
            raise ValueError(msg)
        model = self.model
        parameter = next(model.parameters())
        x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
        num_features = model.num_features
        if x.dim() != 2 or x.shape[1] != num_features:
            msg = f"LRP.explain: batch.x has shape {tuple(x.shape)}, expected (num_tracks, {num_features})"
            raise ValueError(msg)
        num_tracks = x.shape[0]
        jet = (
            batch.batch
            if getattr(batch, "batch", None) is not None
            else torch.zeros(num_tracks, dtype=torch.long)
        )
        jet = jet.to(x.device)
        num_jets = int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1
        source, target_index = batch.edge_index.to(x.device)
        edge_jet = jet[source]

        layers = self._folded_layers()
        absorbed = torch.zeros(num_jets, dtype=x.dtype, device=x.device)

        def linear(inputs: Tensor, name: str, row_jet: Tensor) -> Tensor:
            weight, bias = layers[name]
            return _RuleLinear.apply(inputs, weight, bias, self.rules[name], absorbed, row_jet)

        captured: dict[str, Tensor] = {}

        def capture(name: str, tensor: Tensor, columns: int | None = None) -> Tensor:
            """Keep the relevance ``t * grad_t`` of (the first ``columns`` columns of) ``tensor``.

            The hook must not reference ``tensor``: its grad_fn holds the hook, so the closure would
            close a cycle through autograd's C++ graph that Python's collector cannot see, and every
            call would leak the tensor and the graph behind it. It holds a detached view instead.
            """
            kept = slice(None, columns)
            value = tensor.detach()[:, kept]
            tensor.register_hook(lambda grad: captured.__setitem__(name, value * grad[:, kept]))
            return tensor

        with torch.enable_grad():
            if self.input == "standardized":
                scale, shift = _batchnorm_affine(model.bn)
                reference = (x * scale + shift).detach().requires_grad_(True)
            else:
                reference = x.detach().clone().requires_grad_(True)
            edge_input = capture("edge", torch.cat([reference[source], reference[target_index]], dim=1))
            edge = linear(functional.relu(linear(edge_input, "edge_mlp.0", edge_jet)), "edge_mlp.3", edge_jet)
            message_input = capture("message", torch.cat([reference[source], edge], dim=1), num_features)
            message = linear(
                functional.relu(linear(message_input, "node_mlp_1.0", edge_jet)), "node_mlp_1.3", edge_jet
            )
            aggregated = scatter(message, target_index, dim=0, dim_size=num_tracks, reduce="mean")
            node_input = capture("node", torch.cat([reference, aggregated], dim=1), num_features)
            node = linear(functional.relu(linear(node_input, "node_mlp_2.0", jet)), "node_mlp_2.3", jet)
            pooled = scatter(node, jet, dim=0, dim_size=num_jets, reduce="mean")
            jets = torch.arange(num_jets, device=x.device)
            logits = linear(functional.relu(linear(pooled, "global_mlp.0", jets)), "global_mlp.3", jets)
            seed = _target_seed(logits, target)
            (gradient,) = torch.autograd.grad(logits, reference, grad_outputs=seed)

        reference = reference.detach()
        edge_relevance = captured.get("edge")
        if edge_relevance is None:  # no edges: the hooks are not reached
            edge_relevance = torch.zeros((0, 2 * num_features), dtype=x.dtype, device=x.device)
        else:
            edge_relevance[:, :num_features] += captured["message"]
        if self.aggregate == "sum":
            node_relevance = reference * gradient
        else:
            node_relevance = (
                captured["node"]
                + scatter(edge_relevance[:, :num_features], source, dim=0, dim_size=num_tracks, reduce="mean")
                + scatter(
                    edge_relevance[:, num_features:], target_index, dim=0, dim_size=num_tracks, reduce="mean"
                )
            )
        return Explanation(
            node=node_relevance,
            batch=jet,
            edge=edge_relevance,
            edge_significance=_edge_significance(edge_relevance, edge_jet, num_jets),
            absorbed=absorbed,
            logit=(logits.detach() * seed).sum(dim=1),
            target=target,
        )

    def _folded_layers(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Weight and bias of every ``Linear``, each BatchNorm folded in with its running statistics."""
        model = self.model
        with torch.no_grad():
            layers: dict[str, tuple[Tensor, Tensor]] = {}
            for mlp_name in ("edge_mlp", "node_mlp_1", "node_mlp_2", "global_mlp"):
                mlp = getattr(model, mlp_name)
                first, batchnorm, last = mlp[0], mlp[1], mlp[3]
                scale, shift = _batchnorm_affine(batchnorm)
                layers[f"{mlp_name}.0"] = (first.weight * scale[:, None], _bias(first) * scale + shift)
                layers[f"{mlp_name}.3"] = (last.weight.clone(), _bias(last))
            if self.input == "raw":
                scale, shift = _batchnorm_affine(model.bn)
                num_features = model.num_features
                # The input BatchNorm feeds [x_src, x_dst] of the edge MLP and x of both node MLPs.
                for name, blocks in (("edge_mlp.0", 2), ("node_mlp_1.0", 1), ("node_mlp_2.0", 1)):
                    weight, bias = layers[name]
                    weight = weight.clone()
                    for block in range(blocks):
                        columns = slice(block * num_features, (block + 1) * num_features)
                        bias = bias + weight[:, columns] @ shift
                        weight[:, columns] = weight[:, columns] * scale
                    layers[name] = (weight, bias)
        return layers


def _batchnorm_affine(batchnorm: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift``."""
    if batchnorm.running_mean is None or batchnorm.running_var is None:
        msg = f"LRP: {batchnorm} has no running statistics to fold"
        raise ValueError(msg)
    scale = torch.rsqrt(batchnorm.running_var + batchnorm.eps)
    if batchnorm.weight is not None:
        scale = scale * batchnorm.weight
    shift = -batchnorm.running_mean * scale
    if batchnorm.bias is not None:
        shift = shift + batchnorm.bias
    return scale.detach(), shift.detach()


def _bias(linear: nn.Linear) -> Tensor:
    return (
        linear.bias.detach().clone()
        if linear.bias is not None
        else linear.weight.new_zeros(linear.out_features)
    )


def _target_seed(logits: Tensor, target: str) -> Tensor:
    """Gradient seed at the logits: 1 on the explained class, or +1 (H) and −1 (QCD) for ``"H-QCD"``."""
    seed = torch.zeros_like(logits)
    if target == "H-QCD":
        seed[:, CLASSES.index("H")] = 1.0
        seed[:, CLASSES.index("QCD")] = -1.0
    else:
        seed[:, CLASSES.index(target)] = 1.0
    return seed


def _edge_significance(edge_relevance: Tensor, edge_jet: Tensor, num_jets: int) -> Tensor:
    """``‖R_edge,i‖ / Σ_j ‖R_edge,j‖`` over the edges ``j`` of the same jet (0 in a jet without relevance)."""
    norm = torch.linalg.vector_norm(edge_relevance, dim=1)
    total = scatter(norm, edge_jet, dim=0, dim_size=num_jets, reduce="sum")[edge_jet]
    return torch.where(total > 0, norm / torch.where(total > 0, total, 1.0), 0.0)
