"""Layerwise relevance propagation for any hepxai model: its own forward, and one modified backward pass.

LRP-ε is a forward pass and a backward pass whose gradients are changed at every ``Linear`` layer, keeping
the invariant ``grad_a = R_a / a`` so that the relevance of any tensor is ``a * grad_a``
(``../shared/DESIGN.md``). Rules live on modules, as in zennit: for the duration of one explanation,
forward hooks replace the output of every ``Linear`` with the same value whose backward pass is the
layer's rule (:mod:`hepxai.explain.rules`). A ``BatchNorm1d`` right after a ``Linear`` is folded into it with
its eval-mode statistics (the rule sees the merged affine map). Everything else keeps its ordinary gradient,
which already passes relevance on unchanged: ReLU, concatenation and the graph operations of
:mod:`hepxai.models.graph_ops` (gather by edge, sum and mean aggregation, pooling; ``max`` aggregation sends
a node's relevance to its winning message). Factors declared constant there (edge and node weights,
attention weights) are held fixed, so relevance passes through the product to the other factor.

The graph operations also tell LRP which graph every row belongs to, so what biases and stabilisers
absorb is summed per graph, layer by layer: ``Σ node + Σ edge_attr + absorbed = logit`` for every graph is a
check, not a definition. The relevance of the inputs each edge gathers from its two nodes is read with
tensor hooks (``edge``, ``[num_edges, 2 * num_features]``), and gives the edge significance.

The reference point is the model's standardised input (the output of its ``input_norm`` module,
``input="standardized"``) or the raw input (``input="raw"``: relevance passes through the input
normalisation with its ordinary gradient and the normalisation's shift is absorbed, which equals folding it
into every consumer for ε-rules). A module with no rule (a Tanh, a Softmax, a BatchNorm not after a Linear)
stops the explanation with one line naming it.

Bach et al., "On pixel-wise explanations ... by layer-wise relevance propagation",
PLoS ONE 10 (2015) e0130140; "Interpreting the Higgs boson Interaction Network with LRP" (HIN-LRP).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.explain.base import Explanation, register_explainer
from hepxai.explain.canonizers import FastLRP, batchnorm_affine, fast_lrp
from hepxai.explain.forward import eval_mode
from hepxai.explain.rules import Epsilon, Rule
from hepxai.explain.targets import explained_logit, num_graphs, output_seed, resolve_target, target_weights
from hepxai.models.graph_ops import tracing
from hepxai.models.registry import GraphModel

PASS_THROUGH = (nn.ReLU, nn.LeakyReLU, nn.Dropout, nn.Identity)
"""Leaf modules whose ordinary gradient already propagates relevance (piecewise linear, bias-free)."""


class LRPError(ValueError):
    """The model holds something LRP has no rule for; the message names the module."""


class _RuleAffine(torch.autograd.Function):
    """Returns the affine map's output unchanged; its backward pass is the rule, absorbing per graph."""

    @staticmethod
    def forward(
        ctx: Any,
        inputs: Tensor,
        output: Tensor,
        weight: Tensor,
        bias: Tensor,
        rule: Rule,
        sink: Tensor,
        row_graph: Tensor,
    ) -> Tensor:
        ctx.save_for_backward(inputs if rule.needs_input else None, output, weight, bias, row_graph)
        ctx.rule, ctx.sink = rule, sink
        return output.view_as(output)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        inputs, output, weight, bias, row_graph = ctx.saved_tensors
        grad_input, absorbed = ctx.rule.backward(inputs, output, grad_output, weight, bias)
        ctx.sink.index_add_(0, row_graph, absorbed.to(ctx.sink.dtype))
        return grad_input, None, None, None, None, None, None


@register_explainer("lrp")
class LRP:
    """LRP for any registered model, batched over any PyG ``Batch``.

    Args:
        model: Explained with its eval-mode BatchNorm statistics whatever its mode.
        epsilon: ε of the default :class:`~hepxai.explain.rules.Epsilon` rule.
        input: ``"standardized"``: relevance of the standardised features (the output of the model's
            input normalisation; default); ``"raw"``: of the features as read (as the HIN-LRP paper).
        rules: Rules per ``Linear`` layer: keys ``"default"``, a module (``"edge_mlp"``) or a layer
            (``"edge_mlp.0"``); the most specific key wins.
        aggregate: ``"sum"``: node relevance is the exact sum over every pathway (conservative);
            ``"mean"``: the HIN-LRP paper's formula, each edge's relevance averaged onto its two tracks plus
            the track's direct relevance (not conservative).
        edges: Compute the relevance of every edge's inputs and the edge significance (``None`` without).
        fast: Use the fast form the model's kind registers (:mod:`hepxai.explain.canonizers`; the HIN's
            dense path on fully connected jets) where it applies: one ε for every layer,
            ``aggregate="sum"``, graph-level targets, no masks. It computes the same LRP-ε, faster.

    Example::

        lrp = LRP(model, rules={"default": Epsilon(1e-6), "edge_mlp.0": Gamma(0.25)})
        explanation = lrp.explain(batch, target="H")
    """

    def __init__(
        self,
        model: GraphModel,
        *,
        epsilon: float = 1e-6,
        input: Literal["standardized", "raw"] = "standardized",
        rules: Mapping[str, Rule] | None = None,
        aggregate: Literal["sum", "mean"] = "sum",
        edges: bool = True,
        fast: bool = True,
    ) -> None:
        if input not in ("standardized", "raw"):
            msg = f"LRP: input must be 'standardized' or 'raw' (got {input!r})"
            raise ValueError(msg)
        if aggregate not in ("sum", "mean"):
            msg = f"LRP: aggregate must be 'sum' or 'mean' (got {aggregate!r})"
            raise ValueError(msg)
        rules = dict(rules or {})
        layers = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
        valid = {
            "default",
            *layers,
            *(".".join(n.split(".")[:i]) for n in layers for i in range(1, n.count(".") + 1)),
        }
        for key, rule in rules.items():
            if key not in valid:
                msg = f"LRP: unknown rules key '{key}' (valid: {', '.join(sorted(valid))})"
                raise ValueError(msg)
            if not isinstance(rule, Rule):
                msg = f"LRP: rules['{key}'] must be a Rule, got {type(rule).__name__}"
                raise TypeError(msg)
        default = rules.get("default", Epsilon(epsilon))
        if aggregate == "mean" and not edges:
            msg = "LRP: aggregate='mean' averages edge relevance onto tracks, so it needs edges=True"
            raise ValueError(msg)
        self.model, self.input, self.aggregate, self.edges, self.fast = model, input, aggregate, edges, fast
        self.rules = {layer: _most_specific(rules, layer, default) for layer in layers}

    def explain(self, batch: Batch, *, target: str | None = None, index: Tensor | None = None) -> Explanation:
        """Relevance of every node feature and every edge of every graph of ``batch`` for ``target``.

        Args:
            batch: PyG ``Batch`` (or ``Data``) with ``x`` [num_nodes, num_features], ``edge_index`` and
                ``batch``; any graph, any number of graphs.
            target: An output column (``"H"``), or the difference of two (``"H-QCD"``); default: the
                model's ``default_target``.
            index: For node- or edge-level models, the output rows to explain (default: all).

        Raises:
            ValueError: unknown ``target``, or ``x`` does not have the model's number of features.
            LRPError: the model holds a module LRP has no rule for.
        """
        model = self.model
        target = resolve_target(model, target)
        parameter = next(model.parameters())
        x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
        if x.dim() != 2 or x.shape[1] != model.num_features:
            msg = (
                f"LRP.explain: batch.x has shape {tuple(x.shape)}, expected (num_nodes, {model.num_features})"
            )
            raise ValueError(msg)
        fast = self._fast(batch, index)
        if fast is not None:
            return self._explain_fast(fast, batch, target)
        inputs = copy.copy(batch)
        inputs.x = x.detach().requires_grad_(True)
        edge_attr = getattr(batch, "edge_attr", None)
        if edge_attr is not None and edge_attr.is_floating_point():
            inputs.edge_attr = edge_attr.to(x).detach().requires_grad_(True)
        tracer = _Tracer(self, inputs)
        with eval_mode(model), torch.enable_grad(), tracer.attached(), tracing(tracer):
            logits = model(inputs)
            seed = output_seed(model, inputs, logits, target, index)
            leaves = [tracer.reference_leaf(), *([inputs.edge_attr] if "edge_attr" in inputs else [])]
            gradients = torch.autograd.grad(logits, leaves, grad_outputs=seed, allow_unused=True)
        node = _relevance(leaves[0], gradients[0])
        edge_attr_relevance = _relevance(leaves[1], gradients[1]) if len(leaves) > 1 else None
        edge = tracer.edge_relevance
        if self.aggregate == "mean":
            node = _paper_node_relevance(node, edge, inputs.edge_index)
        edge_graph = tracer.node_graph[inputs.edge_index[0]]
        return Explanation(
            node=node,
            batch=tracer.node_graph,
            edge=edge,
            edge_significance=None
            if edge is None
            else _edge_significance(edge, edge_graph, tracer.num_graphs),
            absorbed=tracer.absorbed,
            logit=explained_logit(model, inputs, logits.detach(), target, index),
            target=target,
            index=index,
            edge_attr=edge_attr_relevance,
        )

    def _fast(self, batch: Batch, index: Tensor | None) -> FastLRP | None:
        """The model's registered fast LRP-ε if it applies to ``batch`` with these settings."""
        rules = list(self.rules.values())
        if not (self.fast and self.aggregate == "sum" and index is None and rules):
            return None
        if not all(type(rule) is Epsilon and rule.epsilon == rules[0].epsilon for rule in rules):
            return None
        return fast_lrp(self.model, batch)

    def _explain_fast(self, fast: FastLRP, batch: Batch, target: str) -> Explanation:
        model, epsilon = self.model, next(iter(self.rules.values())).epsilon
        seed = target_weights(model, target)
        result = fast(model, batch, seed, epsilon=epsilon, raw=self.input == "raw", edges=self.edges)
        return Explanation(
            node=result.node,
            batch=batch.batch.to(result.node.device),
            edge=result.edge,
            edge_significance=result.edge_significance,
            absorbed=result.absorbed,
            logit=result.logits @ seed.to(result.logits),
            target=target,
        )


class _Tracer:
    """The state of one explanation: hooks on the model's modules and the graph operations it runs."""

    def __init__(self, lrp: LRP, inputs: Batch) -> None:
        self.lrp, self.model, self.inputs = lrp, lrp.model, inputs
        x = inputs.x
        self.num_graphs = num_graphs(inputs)
        graph = getattr(inputs, "batch", None)
        self.node_graph = (graph if graph is not None else torch.zeros(x.shape[0], dtype=torch.long)).to(
            x.device
        )
        self.absorbed = torch.zeros(self.num_graphs, dtype=x.dtype, device=x.device)
        self.edge_index = inputs.edge_index.to(x.device)
        self.edge_relevance: Tensor | None = None
        self.input_norm = self.model.submodule(self.model.input_norm_name)
        self._reference: Tensor = x  # the tensor whose relevance is reported
        self._shift: Tensor | float = 0.0  # raw input: what the input normalisation adds
        self._leaf: Tensor = x
        # Row maps (graph of every row), most recent last: which graph a tensor's rows belong to.
        self._maps: list[Tensor] = [torch.arange(self.num_graphs, device=x.device), self.node_graph]
        self._pending: dict[int, tuple[str, nn.Linear, Tensor, Tensor]] = {}

    def reference_leaf(self) -> Tensor:
        return self._leaf

    @contextmanager
    def attached(self) -> Iterator[None]:
        """Forward hooks on every module for the duration of the block; nothing is kept afterwards."""
        handles = []
        for name, module in self.model.named_modules():
            if isinstance(module, nn.Linear):
                handles.append(module.register_forward_hook(partial(self._linear, name)))
            elif isinstance(module, nn.BatchNorm1d):
                handles.append(module.register_forward_hook(partial(self._batchnorm, name)))
            elif not isinstance(module, PASS_THROUGH) and not any(True for _ in module.children()):
                handles.append(module.register_forward_hook(partial(_unsupported, name)))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            self._pending.clear()
            self._maps.clear()

    # --- modules -------------------------------------------------------------------------------------

    def _linear(self, name: str, module: nn.Linear, args: tuple[Tensor, ...], output: Tensor) -> Tensor:
        inputs = args[0]
        if inputs.dim() != 2:
            msg = (
                f"LRP: Linear '{name}' got an input of shape {tuple(inputs.shape)}; it takes [rows, features]"
            )
            raise LRPError(msg)
        out = self._rule(name, inputs, output, module.weight.detach(), _bias(module))
        self._pending[id(out)] = (name, module, inputs, out)
        return out

    def _batchnorm(
        self, name: str, module: nn.BatchNorm1d, args: tuple[Tensor, ...], output: Tensor
    ) -> Tensor:
        if module is self.input_norm:
            return self._input(module, output)
        entry = self._pending.get(id(args[0]))
        if entry is None or entry[3] is not args[0]:
            msg = f"LRP: BatchNorm '{name}' follows no Linear; LRP folds BatchNorm into the Linear before it"
            raise LRPError(msg)
        linear_name, linear, inputs, _ = entry
        scale, shift = batchnorm_affine(module)
        with torch.no_grad():
            weight = linear.weight.detach() * scale[:, None]
            bias = _bias(linear) * scale + shift
        return self._rule(linear_name, inputs, output, weight, bias)

    def _rule(self, name: str, inputs: Tensor, output: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        row_graph = self._rows(inputs.shape[0], f"Linear '{name}'")
        return _RuleAffine.apply(
            inputs, output.detach(), weight, bias, self.lrp.rules[name], self.absorbed, row_graph
        )

    def _input(self, module: nn.BatchNorm1d, output: Tensor) -> Tensor:
        """The input normalisation: the reference point, or (raw input) a pass-through absorbing its shift."""
        if self.lrp.input == "standardized":
            self._leaf = self._reference = output.detach().requires_grad_(True)
            return self._leaf
        _, shift = batchnorm_affine(module)
        self._reference, self._shift = output, shift
        output.register_hook(partial(_absorb_shift, self.absorbed, self.node_graph, shift))
        return output

    # --- graph operations (hepxai.models.graph_ops) ------------------------------------------------

    def gathered(self, values: Tensor, index: Tensor, out: Tensor) -> Tensor:
        self._maps.append(self._rows(values.shape[0], "a gather")[index])
        side = self._edge_side(index) if values is self._reference and self.lrp.edges else None
        if side is not None:
            if self.edge_relevance is None:
                self.edge_relevance = values.new_zeros(index.shape[0], 2 * values.shape[1])
            columns = slice(side * values.shape[1], (side + 1) * values.shape[1])
            out.register_hook(
                partial(_add_relevance, self.edge_relevance, columns, out.detach() - self._shift)
            )
        return out

    def scattered(self, out: Tensor, index: Tensor, num_rows: int, to_graphs: bool) -> Tensor:
        if to_graphs:
            self._maps.append(torch.arange(num_rows, device=out.device))
        elif num_rows == self.node_graph.shape[0]:
            self._maps.append(self.node_graph)
        else:
            source = self._rows(index.shape[0], "an aggregation")
            self._maps.append(source.new_zeros(num_rows).scatter_(0, index, source))
        return out

    def constant(self, factor: Tensor) -> Tensor:
        return factor.detach()

    # --- bookkeeping -----------------------------------------------------------------------------

    def _rows(self, num_rows: int, what: str) -> Tensor:
        """The graph of each of ``num_rows`` rows: the most recent row map of that length."""
        for rows in reversed(self._maps):
            if rows.shape[0] == num_rows:
                return rows
        msg = (
            f"LRP: cannot tell which graph the {num_rows} rows of {what} belong to; "
            "build the model from hepxai.models.graph_ops"
        )
        raise LRPError(msg)

    def _edge_side(self, index: Tensor) -> int | None:
        """0 if ``index`` is the source row of the batch's edges, 1 if the target row, else ``None``.

        The row ``index`` is (same memory) wins over a row it only equals: where every edge is a self loop
        (a one-point cloud), both rows are equal and only the memory tells them apart.
        """
        rows = [self.edge_index[side] for side in (0, 1)]
        for same in (lambda row: index.data_ptr() == row.data_ptr(), lambda row: torch.equal(index, row)):
            for side, row in enumerate(rows):
                if index.shape == row.shape and same(row):
                    return side
        return None


def _most_specific(rules: Mapping[str, Rule], layer: str, default: Rule) -> Rule:
    parts = layer.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in rules:
            return rules[".".join(parts[:i])]
    return default


def _unsupported(name: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
    msg = (
        f"LRP: no rule for module '{name}' ({type(module).__name__}); LRP handles Linear, BatchNorm1d after "
        f"a Linear, ReLU and the graph operations of hepxai.models.graph_ops"
    )
    raise LRPError(msg)


def _add_relevance(store: Tensor, columns: slice, value: Tensor, grad: Tensor) -> None:
    """Tensor hook: add ``value * grad`` (the relevance of a gathered input) to the edge store."""
    store[:, columns] += value * grad


def _absorb_shift(sink: Tensor, node_graph: Tensor, shift: Tensor, grad: Tensor) -> None:
    """Tensor hook on the input normalisation's output: its shift takes ``Σ shift · grad`` per node."""
    sink.index_add_(0, node_graph, (grad @ shift.to(grad)).to(sink.dtype))


def _relevance(leaf: Tensor, gradient: Tensor | None) -> Tensor:
    return torch.zeros_like(leaf.detach()) if gradient is None else leaf.detach() * gradient


def _bias(linear: nn.Linear) -> Tensor:
    bias = linear.bias if linear.bias is not None else linear.weight.new_zeros(linear.out_features)
    return bias.detach()


def _paper_node_relevance(node: Tensor, edge: Tensor | None, edge_index: Tensor) -> Tensor:
    """The HIN-LRP paper's node relevance: direct relevance plus edge relevance averaged onto both tracks."""
    if edge is None:
        msg = "LRP: aggregate='mean' needs a model that gathers its input features along batch.edge_index"
        raise LRPError(msg)
    num_nodes, num_features = node.shape
    source, target = edge_index
    source_part, target_part = edge[:, :num_features], edge[:, num_features:]
    direct = (
        node
        - scatter(source_part, source, dim=0, dim_size=num_nodes, reduce="sum")
        - scatter(target_part, target, dim=0, dim_size=num_nodes, reduce="sum")
    )
    return (
        direct
        + scatter(source_part, source, dim=0, dim_size=num_nodes, reduce="mean")
        + scatter(target_part, target, dim=0, dim_size=num_nodes, reduce="mean")
    )


def _edge_significance(edge_relevance: Tensor, edge_graph: Tensor, num_graphs: int) -> Tensor:
    """``‖R_edge,i‖ / Σ_j ‖R_edge,j‖`` over the edges ``j`` of its graph (0 in a graph without relevance)."""
    norm = torch.linalg.vector_norm(edge_relevance, dim=1)
    total = scatter(norm, edge_graph, dim=0, dim_size=num_graphs, reduce="sum")[edge_graph]
    return torch.where(total > 0, norm / torch.where(total > 0, total, 1.0), 0.0)
