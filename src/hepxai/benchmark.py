"""The ground-truth benchmark of explainers: all methods on the same signal jets, scored by ``track_fromB``.

On simulated H→bb̄ jets the tracks that descend from the b hadrons are known. Each method explains the H logit
(or another target: the QCD logit, the difference H − QCD) of every signal jet; its per-track score
(:func:`~hepxai.explain.base.track_scores`: sum of ``|relevance|`` over features) is compared with the
truth (interpretation ROC AUC, precision@k), and the tracks it ranks highest are removed to see how much the
H probability drops (deletion curve), whatever the target. Methods are timed on the same jets in the same
batches. For a model of one message-passing step, the pairs of b-hadron tracks found by LRP-ε's relevant
walks are counted too (:func:`walk_pairs`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import Batch
from tqdm import tqdm

from hepxai.data import Jets
from hepxai.data.graph_list import GraphList
from hepxai.data.root_io import STREAM_CHUNK_SIZE, Selection
from hepxai.data.schema import Schema
from hepxai.errors import InputError
from hepxai.explain import gradients, masks, trivial  # noqa: F401  (registers the explainers)
from hepxai.explain.base import explainer_class, get_explainer, track_scores
from hepxai.explain.composites import epsilon_gamma, epsilon_plus
from hepxai.explain.forward import drop_tracks, eval_mode
from hepxai.explain.lrp import LRP
from hepxai.explain.rules import Epsilon, Gamma, ZPlus
from hepxai.explain.targets import resolve_target, target_probability
from hepxai.explain.walks import relevant_walks
from hepxai.io.atomic import atomic_path, write_text
from hepxai.metrics.interpretation import (
    deletion_area,
    interpretation_auc,
    pair_chance,
    pair_precision_per_jet,
    precision_at_k,
    random_tiebreak,
    rank_within_jets,
)
from hepxai.models.registry import GraphModel
from hepxai.provenance import write_provenance

log = logging.getLogger(__name__)

TRUTH = "track_fromB"
PRECISION_AT = (3, 5, 10)
_TRACK_MLPS = ("edge_mlp", "node_mlp_1", "node_mlp_2")
_MESSAGE_MLPS = ("edge_mlp", "node_mlp_1")  # the HIN's per-edge layers, below the tracks' update
_INPUT_LAYERS = ("edge_mlp.0", "node_mlp_1.0", "node_mlp_2.0")  # the HIN's layers that read track features


@dataclass(frozen=True)
class Method:
    """A benchmarked method: a registered explainer and its options."""

    explainer: str
    options: dict[str, Any]
    needs_feature_names: bool = False  # reads features by schema name
    seeded: bool = False  # takes a ``seed``
    ranking: bool = False  # a trivial ranking, not an explanation: no feature-restricted score

    @property
    def fits(self) -> bool:
        """Whether the explainer learns from the jets before explaining them (it has ``fit``)."""
        return hasattr(explainer_class(self.explainer), "fit")


METHODS: dict[str, Method] = {
    # Per-track scores only: the edge relevance is not computed.
    "lrp_epsilon": Method("lrp", {"edges": False}),
    "lrp_epsilon_raw": Method("lrp", {"input": "raw", "edges": False}),
    # γ and z⁺ on the HIN's track-level MLPs, ε on the global MLP (a usual composite: sparser rules near the
    # input).
    "lrp_gamma": Method(
        "lrp",
        {"rules": {"default": Epsilon(1e-6), **{m: Gamma(0.25) for m in _TRACK_MLPS}}, "edges": False},
    ),
    "lrp_zplus": Method(
        "lrp", {"rules": {"default": Epsilon(1e-6), **{m: ZPlus() for m in _TRACK_MLPS}}, "edges": False}
    ),
    # Composites (zennit's EpsilonGammaBox / EpsilonPlus idea, explain/composites.py): ε on the upper
    # layers, γ or z⁺ below; on LRP's generic path (the dense fast path takes one ε for every layer).
    "lrp_epsilon_gamma": Method("lrp", {"rules": epsilon_gamma(_MESSAGE_MLPS), "edges": False}),
    "lrp_epsilon_plus": Method("lrp", {"rules": epsilon_plus(_MESSAGE_MLPS), "edges": False}),
    "lrp_epsilon_gamma_input": Method("lrp", {"rules": epsilon_gamma(_INPUT_LAYERS), "edges": False}),
    "saliency": Method("saliency", {}),
    "gradient_x_input": Method("gradient_x_input", {}),
    "integrated_gradients": Method("integrated_gradients", {}),
    "gradgam": Method("gradgam", {}),
    "bernmask": Method("bernmask", {}, seeded=True),
    "bernmask_p": Method("bernmask_p", {}, seeded=True),
    "random": Method("random", {}, seeded=True, ranking=True),
    "track_pt": Method("track_pt", {}, needs_feature_names=True, ranking=True),
    "impact_parameter": Method("impact_parameter", {}, needs_feature_names=True, ranking=True),
}
"""Every benchmarked method by table name; ``random`` is also the reference of the deletion curves."""


class TrackScorer(Protocol):
    """What a trained method gives per track: the explainers' call, on a model of its own."""

    def explain(self, batch: Batch, *, target: str) -> Any: ...


@dataclass(frozen=True)
class OwnModel:
    """A method trained into a model of its own (LRI-Bernoulli: a keep-probability per track), benchmarked
    on the same jets as the explainers: its scores come from ``scorer``, its deletion curve removes tracks
    from ``model``, the model whose decision it describes."""

    model: GraphModel
    scorer: TrackScorer


@dataclass(frozen=True)
class BenchmarkResult:
    """The table (one row per method) and the deletion curves (mean drop of P(H) after removing k tracks)."""

    table: pd.DataFrame
    deletion_curves: dict[str, Tensor]  # method -> [deletion_steps + 1]
    num_jets: int
    num_tracks: int
    num_true_tracks: int
    selection: str = ""  # the jet selection applied, e.g. "original (40 < fj_sdmass < 200, ...)"
    target: str = ""  # what every method explained, e.g. "H"
    pairs: WalkPairs | None = None  # pairs of b-hadron tracks in the top walks, edges and track pairs


@dataclass(frozen=True)
class WalkPairs:
    """How often each jet's ``k`` top-scored ordered pairs of distinct tracks join two b-hadron tracks.

    Each value is :func:`~hepxai.metrics.interpretation.pair_precision_at_k` over the signal jets with at
    least two tracks, from one LRP-ε explanation of the benchmark's target.
    """

    k: int
    walks: float  # pairs i → j by the |relevance| of the walk i → j → jet (self walks left out)
    edges: float  # pairs by edge significance (both halves of the edge relevance)
    track_pairs: float  # pairs by the sum of the two tracks' scores (track_scores)
    chance: float  # random pairs: mean of n_b (n_b − 1) / (n (n − 1))

    def sentence(self) -> str:
        return (
            f"b-hadron track pairs among each jet's top {self.k} pairs (LRP-ε): walks i → j → jet "
            f"{self.walks:.1%}, edges by significance {self.edges:.1%}, pairs of the top-scored tracks "
            f"{self.track_pairs:.1%}, chance {self.chance:.1%}"
        )


def signal_jets(jets: Jets, *, max_jets: int | None = None, source: str = "data") -> Jets:
    """The signal jets with per-track truth, the first ``max_jets`` of them.

    Raises:
        InputError: the data has no ``track_fromB`` branch, or no signal jet.
    """
    if TRUTH not in jets.track_truth:
        msg = (
            f"{source}: no '{TRUTH}' branch; the benchmark needs simulated jets with per-track truth "
            "(hepxai data simulate)"
        )
        raise InputError(msg)
    index = np.flatnonzero(jets.label == 1)
    if len(index) == 0:
        msg = f"{source}: no signal (H->bb) jet among {len(jets)} jets"
        raise InputError(msg)
    return jets.select(index[:max_jets])


def read_signal_jets(
    paths: Sequence[Path],
    *,
    schema: str | Schema = "auto",
    selection: Selection | None = None,
    max_jets: int | None = None,
    progress: bool = True,
) -> Jets:
    """Read the signal jets of ``paths`` (up to ``max_jets``) with their per-track truth, chunk by chunk.

    Args:
        paths: ROOT files.
        schema: A schema, a built-in schema name, a YAML file, or ``"auto"`` (from the first file).
        selection: Spectator window (``{name: (low, high)}``) the jets pass, e.g. the model's training one.
        max_jets: Stop after this many signal jets.
        progress: Show the reading progress bar.

    Raises:
        InputError: a file cannot be read, or has no ``track_fromB`` or no signal jet.
    """
    from hepxai.data import iter_jets

    resolved = resolve_schema(paths, schema)
    source = ", ".join(str(path) for path in paths)
    parts, total = [], 0
    for chunk in iter_jets(
        paths, resolved, selection=selection, chunk_size=STREAM_CHUNK_SIZE, progress=progress
    ):
        if TRUTH not in chunk.track_truth:
            break
        chunk = chunk.select(chunk.label == 1)
        parts.append(chunk)
        total += len(chunk)
        if max_jets is not None and total >= max_jets:
            break
    if not parts:
        msg = (
            f"{source}: no '{TRUTH}' branch; the benchmark needs simulated jets with per-track truth "
            "(hepxai data simulate)"
        )
        raise InputError(msg)
    return signal_jets(Jets.concatenate(parts), max_jets=max_jets, source=source)


def resolve_schema(paths: Sequence[Path], schema: str | Schema) -> Schema:
    """``schema`` itself, the built-in or YAML schema it names, or the first file's (``"auto"``)."""
    from hepxai.data import load_schema
    from hepxai.data.inspect import detect_schema

    if isinstance(schema, Schema):
        return schema
    return detect_schema(paths[0]) if schema == "auto" else load_schema(schema)


class JetBatches:
    """The jets as PyG batches of ``batch_size``, built anew on every pass: the graphs' edges of all jets
    are never held at once. Every method and the deletion curves pass over the same batches."""

    def __init__(self, jets: Jets | GraphList, batch_size: int, dtype: torch.dtype) -> None:
        self.jets, self.batch_size, self.dtype = jets, batch_size, dtype

    def __len__(self) -> int:
        return -(-len(self.jets) // self.batch_size)

    def tracks_per_jet(self) -> Tensor:
        """``[num_jets]`` the tracks (nodes) of each jet, in order."""
        if isinstance(self.jets, Jets):
            return torch.from_numpy(np.asarray(self.jets.num_tracks, dtype=np.int64))
        return torch.tensor([graph.num_nodes for graph in self.jets.graphs], dtype=torch.int64)

    def __iter__(self) -> Iterator[Batch]:
        for start in range(0, len(self.jets), self.batch_size):
            batch = self.jets.select(
                np.arange(start, min(start + self.batch_size, len(self.jets)))
            ).to_batch()
            for key in ("x", "pos", "edge_attr"):
                if getattr(batch, key, None) is not None:
                    batch[key] = batch[key].to(self.dtype)
            yield batch


@dataclass(frozen=True)
class BenchmarkSettings:
    """What every method scores and how, checked once: the same for the whole run and for each of its parts
    (:mod:`hepxai.benchmark_parts` sends it with every task)."""

    methods: tuple[str, ...]  # names from METHODS, in table order
    own_methods: tuple[str, ...]  # trained methods with a model of their own, rows after the methods'
    target: str  # what every method explains
    feature_names: tuple[str, ...]
    score_features: tuple[str, ...] | None
    restricted: Tensor | None  # [num_score_features] columns of the restricted score
    batch_size: int
    deletion_steps: int
    seed: int
    walks: int  # k of walk_pairs; 0 when not counted (or the model has more than one message-passing step)


def benchmark_settings(
    model: GraphModel,
    *,
    feature_names: Sequence[str] = (),
    methods: Sequence[str] | None = None,
    own_models: dict[str, OwnModel] | None = None,
    score_features: Sequence[str] | None = None,
    target: str | None = None,
    batch_size: int = 256,
    deletion_steps: int = 10,
    seed: int = 0,
    walks: int = 3,
) -> BenchmarkSettings:
    """The settings of :func:`run_benchmark` (which documents them), checked.

    Raises:
        InputError: an unknown method, feature or target, or a trained method named as an explainer.
    """
    names = list(methods or METHODS)
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        msg = f"unknown method '{unknown[0]}' (valid: {', '.join(METHODS)})"
        raise InputError(msg)
    try:
        target = resolve_target(model, target)
    except ValueError as err:
        msg = f"--target: {err}"
        raise InputError(msg) from err
    own = list(own_models or {})
    if set(own) & set(names):
        msg = f"trained method '{sorted(set(own) & set(names))[0]}' has the name of an explainer"
        raise InputError(msg)
    return BenchmarkSettings(
        methods=tuple(names),
        own_methods=tuple(own),
        target=target,
        feature_names=tuple(feature_names),
        score_features=tuple(score_features) if score_features else None,
        restricted=_feature_index(feature_names, score_features) if score_features else None,
        batch_size=batch_size,
        deletion_steps=deletion_steps,
        seed=seed,
        walks=walks if getattr(model, "message_passing_steps", None) == 1 else 0,
    )


@dataclass(frozen=True)
class PartScores:
    """What a run of consecutive signal jets (all of them, or one task's) gives the table: per-track scores
    and per-batch deletion sums, joined in jet order by :func:`benchmark_result` into the numbers of one
    process."""

    truth: Tensor  # [num_tracks] bool
    num_tracks: Tensor  # [num_jets] int64
    scores: dict[str, Tensor]  # row -> [num_tracks] score of every track
    methods: dict[str, str]  # row -> the method that scored it
    deletion: dict[str, Tensor]  # row -> [num_batches, deletion_steps + 1] summed drop of P(signal)
    seconds: dict[str, float]  # method -> seconds its explanations took (fitting not included)
    pairs: dict[str, Tensor] | None  # walks, edges, track_pairs -> [jets with a pair] share of true pairs


def run_benchmark(
    model: GraphModel,
    jets: Jets | GraphList,
    *,
    truth: str = TRUTH,
    methods: Sequence[str] | None = None,
    batch_size: int = 256,
    deletion_steps: int = 10,
    seed: int = 0,
    score_features: Sequence[str] | None = None,
    own_models: dict[str, OwnModel] | None = None,
    target: str | None = None,
    walks: int = 3,
    progress: bool = True,
) -> BenchmarkResult:
    """Explain the signal logit of every signal graph with every method and score the explanations.

    With ``score_features``, each explainer also gets a row ``method[f1,f2,...]`` scored by the sum of
    ``|relevance|`` over those features only (trivial rankings have no such row).

    Args:
        model: The trained model (left unchanged); its ``default_target`` is explained (the HIN: H).
        jets: Jets with ``track_fromB`` (see :func:`signal_jets`), or any labelled graphs whose nodes
            carry the truth (``GraphList``); only the signal ones (label 1) are scored.
        truth: The per-node truth that should rank high.
        methods: Names from :data:`METHODS`; all by default.
        batch_size: Jets explained at once.
        deletion_steps: Largest number of tracks removed for the deletion curve.
        seed: Seeds every random element (random ranking, masks).
        score_features: Feature names (schema names; a repeated name takes all its copies) of the
            restricted per-track score.
        own_models: Trained methods with a model of their own, by table name (rows after the methods').
        target: What every method explains: a class (``"H"``, ``"QCD"``) or a difference (``"H-QCD"``);
            default the model's ``default_target``. The deletion curve measures P(signal) whatever it is.
        walks: ``k`` of :func:`walk_pairs` (for models of one message-passing step); 0: not counted.
        progress: Show a progress bar.

    Raises:
        InputError: an unknown method, feature or target, or jets without ``track_fromB``.
    """
    settings = benchmark_settings(
        model,
        feature_names=getattr(jets, "feature_names", ()),
        methods=methods,
        own_models=own_models,
        score_features=score_features,
        target=target,
        batch_size=batch_size,
        deletion_steps=deletion_steps,
        seed=seed,
        walks=walks,
    )
    jets, truth_name = _signal_graphs(jets, truth), truth
    batches = JetBatches(jets, batch_size, next(model.parameters()).dtype)
    truth = node_truth(jets, truth_name)
    log.info(
        "benchmark: %d signal graphs, %d nodes, %d with %s",
        len(jets),
        len(truth),
        int(truth.sum()),
        truth_name,
    )
    total = (len(settings.methods) + len(settings.own_methods)) * len(batches)
    with tqdm(total=total, unit="batch", desc="benchmark", disable=not progress) as bar:
        fitted = fit_explainers(model, batches, settings)
        part = score_part(
            model, batches, truth, settings, own_models=own_models or {}, fitted=fitted, bar=bar
        )
    return benchmark_result([part], settings, fit_seconds={name: fit[1] for name, fit in fitted.items()})


def fit_explainers(
    model: GraphModel, batches: Iterable[Batch], settings: BenchmarkSettings
) -> dict[str, tuple[Any, float]]:
    """The explainers that learn something from the jets before explaining them (those with ``fit``, such
    as BernMask-P's mask generator), fitted once on all ``batches``, with the seconds each took.

    The parts of a run on the engine are then explained by the same fitted explainer, as one process does.
    """
    fitted = {}
    for name in settings.methods:
        if not METHODS[name].fits:
            continue
        torch.manual_seed(settings.seed)
        start = time.perf_counter()
        explainer = _new_explainer(model, name, settings)
        explainer.fit(batches, target=settings.target)
        fitted[name] = (explainer, time.perf_counter() - start)
    return fitted


def score_part(
    model: GraphModel,
    batches: JetBatches,
    truth: Tensor,
    settings: BenchmarkSettings,
    *,
    own_models: dict[str, OwnModel],
    fitted: dict[str, tuple[Any, float]],
    first_jet: int = 0,
    first_track: int = 0,
    bar: tqdm | None = None,
) -> PartScores:
    """Every method's per-track scores and deletion sums on ``batches``, consecutive signal jets that start
    at jet ``first_jet`` and track ``first_track`` of the whole run (seeds and tie-breaks follow them).

    Args:
        truth: ``[num_tracks]`` the per-track truth of ``batches``.
        fitted: From :func:`fit_explainers` on all the run's jets.
    """
    bar = bar if bar is not None else tqdm(disable=True)
    scores, methods, deletion, seconds = {}, {}, {}, {}
    for name in [*settings.methods, *settings.own_methods]:
        bar.set_postfix_str(name)
        if name in own_models:
            scored_model = own_models[name].model
            method_scores, seconds[name] = _own_scores(own_models[name], batches, bar)
            labels = [name]
        else:
            scored_model = model
            index = None if METHODS[name].ranking else settings.restricted
            explainer = fitted[name][0] if name in fitted else None
            method_scores, seconds[name] = _explain(
                model, batches, name, settings, bar, index, explainer=explainer, first_track=first_track
            )
            features = ",".join(settings.score_features or ())
            labels = [name] if index is None else [name, f"{name}[{features}]"]
            labels = labels[: len(method_scores)]  # methods with one score per track get no restricted row
        for label, score in zip(labels, method_scores, strict=True):
            scores[label], methods[label] = score, name
            deletion[label] = _deletion_sums(
                scored_model, batches, score, settings.deletion_steps, seed=settings.seed, first_jet=first_jet
            )
    pairs = None
    if settings.walks:
        pairs, _ = _pair_shares(model, batches, truth, k=settings.walks, target=settings.target)
    return PartScores(truth, batches.tracks_per_jet(), scores, methods, deletion, seconds, pairs)


def benchmark_result(
    parts: Sequence[PartScores], settings: BenchmarkSettings, *, fit_seconds: dict[str, float]
) -> BenchmarkResult:
    """The table of the parts of a run, joined in jet order: the interpretation AUC and precision@k over all
    tracks, the deletion curves from the per-batch sums added batch by batch, the walk pairs' shares
    averaged over all jets. The parts of one run cut anywhere between batches give the same numbers.

    ``seconds_per_1000_jets`` adds a method's fitting and the time of every part (on several workers: the
    seconds of all workers together, not the wall-clock time).
    """
    truth = torch.cat([part.truth for part in parts])
    num_tracks = torch.cat([part.num_tracks for part in parts])
    num_jets = num_tracks.numel()
    jet_of_track = torch.repeat_interleave(torch.arange(num_jets), num_tracks)
    rows, curves = [], {}
    for label, name in parts[0].methods.items():
        score = torch.cat([part.scores[label] for part in parts])
        curves[label] = _mean_drop(torch.cat([part.deletion[label] for part in parts]), num_jets)
        seconds = fit_seconds.get(name, 0.0) + sum(part.seconds[name] for part in parts)
        row = {"method": label, "interp_auc": interpretation_auc(score, truth)}
        for k in PRECISION_AT:
            row[f"prec@{k}"] = precision_at_k(score, truth, jet_of_track, k)
        row["deletion_auc"] = deletion_area(curves[label])
        row["seconds_per_1000_jets"] = 1000 * seconds / num_jets
        rows.append(row)
        log.info(
            "%s: interp_auc %.3f, %.2f s per 1000 jets",
            label,
            row["interp_auc"],
            row["seconds_per_1000_jets"],
        )
    pairs = None
    if settings.walks:
        shares = {name: torch.cat([part.pairs[name] for part in parts]) for name in parts[0].pairs}
        pairs = _walk_pairs(shares, truth, jet_of_track, k=settings.walks)
        log.info("%s", pairs.sentence())
    return BenchmarkResult(
        table=pd.DataFrame(rows),
        deletion_curves=curves,
        num_jets=num_jets,
        num_tracks=len(truth),
        num_true_tracks=int(truth.sum()),
        target=settings.target,
        pairs=pairs,
    )


def walk_pairs(
    model: GraphModel, batches: Iterable[Batch], truth: Tensor, *, k: int, target: str
) -> WalkPairs:
    """Which pairs of tracks LRP-ε says the model combines, against b-hadron truth (a secondary vertex).

    For every jet, its ordered pairs of distinct tracks ``(i, j)`` are ranked three ways — by the
    ``|relevance|`` of the walk ``i → j → jet``, by the significance of the edge ``i → j``, and by
    ``score_i + score_j`` of the two tracks — and the share of the top ``k`` whose two tracks both
    descend from a b hadron is compared with chance.

    Args:
        model: A model of one message-passing step (``message_passing_steps == 1``).
        batches: The signal jets, in the order of ``truth``.
        truth: ``[num_tracks]`` bool per track (``track_fromB``).
        k: Top pairs per jet.
        target: What LRP-ε explains.
    """
    shares, jet_of_track = _pair_shares(model, batches, truth, k=k, target=target)
    return _walk_pairs(shares, truth, jet_of_track, k=k)


def _walk_pairs(shares: dict[str, Tensor], truth: Tensor, jet_of_track: Tensor, *, k: int) -> WalkPairs:
    """The mean over jets of each ranking's per-jet share of true pairs, and chance."""
    means = {name: float(share.mean()) for name, share in shares.items()}
    return WalkPairs(k=k, **means, chance=pair_chance(truth, jet_of_track))


def _pair_shares(
    model: GraphModel, batches: Iterable[Batch], truth: Tensor, *, k: int, target: str
) -> tuple[dict[str, Tensor], Tensor]:
    """Per jet with a pair, the share of true pairs among its top ``k`` by walks, edges and track pairs
    (:func:`walk_pairs`); and ``[num_tracks]`` the jet of each track."""
    lrp = LRP(model, edges=True)
    shares: dict[str, list[Tensor]] = {"walks": [], "edges": [], "track_pairs": []}
    jets, offset, num_jets = [], 0, 0
    for batch in batches:
        explanation = lrp.explain(batch, target=target)
        source, destination = batch.edge_index
        walks = relevant_walks(model, explanation, batch.edge_index)
        track_score = track_scores(explanation).detach()
        batch_truth = truth[offset : offset + batch.x.shape[0]]
        pair_truth = batch_truth[source] & batch_truth[destination]
        for name, score in (
            ("walks", walks.relevance[: source.numel()].detach().abs()),
            ("edges", explanation.edge_significance.detach()),
            ("track_pairs", track_score[source] + track_score[destination]),
        ):
            shares[name].append(pair_precision_per_jet(score, pair_truth, batch.batch[source], k))
        jets.append(num_jets + batch.batch)
        offset += batch.x.shape[0]
        num_jets += batch.num_graphs
    return {name: torch.cat(share) for name, share in shares.items()}, torch.cat(jets)


def _signal_graphs(data: Jets | GraphList, truth: str) -> Jets | GraphList:
    if isinstance(data, Jets):
        return signal_jets(data) if truth == TRUTH else data.select(data.label == 1)
    signal = data.select(data.label == 1)
    if len(signal) == 0 or any(getattr(graph, truth, None) is None for graph in signal.graphs):
        msg = f"the benchmark needs signal graphs whose nodes carry '{truth}' ({len(signal)} signal graphs)"
        raise InputError(msg)
    return signal


def node_truth(data: Jets | GraphList, truth: str = TRUTH) -> Tensor:
    """``[num_nodes]`` truth of every node, in graph order.

    Raises:
        InputError: jets without that per-track truth.
    """
    if isinstance(data, Jets):
        if truth not in data.track_truth:
            msg = f"data: no per-track truth '{truth}' (it has {', '.join(data.track_truth) or 'none'})"
            raise InputError(msg)
        return torch.from_numpy(np.asarray(data.track_truth[truth])).bool()
    return torch.cat([torch.as_tensor(graph[truth]).reshape(-1) for graph in data.graphs]).bool()


def _new_explainer(model: GraphModel, name: str, settings: BenchmarkSettings) -> Any:
    """The explainer of method ``name`` with the method's options, the feature names and the seed."""
    method = METHODS[name]
    options = dict(method.options)
    if method.needs_feature_names:
        options["feature_names"] = settings.feature_names
    if method.seeded:
        options["seed"] = settings.seed
    return get_explainer(method.explainer, model, **options)


def _explain(
    model: GraphModel,
    batches: Iterable[Batch],
    name: str,
    settings: BenchmarkSettings,
    bar: tqdm,
    feature_index: Tensor | None = None,
    *,
    explainer: Any = None,
    first_track: int = 0,
) -> tuple[list[Tensor], float]:
    """Per-track scores of every jet (in jet order) and the seconds it took.

    The scores are the sum of ``|relevance|`` over all features and, with ``feature_index``, over those only
    (for explainers that give relevance per feature). An explainer that must be fitted comes fitted
    (:func:`fit_explainers`); one that draws scores in track order (the random ranking) first skips the
    ``first_track`` tracks before these jets.
    """
    torch.manual_seed(settings.seed)
    start = time.perf_counter()
    if explainer is None:
        explainer = _new_explainer(model, name, settings)
    skip = getattr(explainer, "skip", None)
    if skip is not None and first_track:
        skip(first_track)
    scores: list[list[Tensor]] = [[], []]
    for batch in batches:
        explanation = explainer.explain(batch, target=settings.target)
        scores[0].append(track_scores(explanation).detach())
        if feature_index is not None and explanation.node.shape[1] > 1:  # not for one score per track
            scores[1].append(explanation.node.detach().abs()[:, feature_index].sum(dim=1))
        bar.update()
    seconds = time.perf_counter() - start
    return [torch.cat(score) for score in scores if score], seconds


def _own_scores(method: OwnModel, batches: Iterable[Batch], bar: tqdm) -> tuple[list[Tensor], float]:
    """Per-track scores of a trained method (in jet order) and the seconds they took."""
    start = time.perf_counter()
    scores = []
    for batch in batches:
        scores.append(track_scores(method.scorer.explain(batch, target=method.model.default_target)))
        bar.update()
    return [torch.cat(scores).detach()], time.perf_counter() - start


def _feature_index(feature_names: Sequence[str], names: Sequence[str]) -> Tensor:
    """Columns of the named features (every copy of a repeated name).

    Raises:
        InputError: a name the schema does not have.
    """
    unknown = [name for name in names if name not in feature_names]
    if unknown:
        valid = ", ".join(dict.fromkeys(feature_names))
        msg = f"--score-features: unknown feature '{unknown[0]}' (valid: {valid})"
        raise InputError(msg)
    return torch.tensor([i for i, name in enumerate(feature_names) if name in set(names)])


def _deletion_curve(
    model: GraphModel, batches: list[Batch], score: Tensor, steps: int, *, seed: int
) -> Tensor:
    """``[steps + 1]`` mean drop of P(signal) after removing the top-scored ``k`` tracks of each jet, k = 0..K

    A jet keeps at least one track: from a jet of ``n ≤ k`` tracks only the top ``n − 1`` are removed.
    Tied scores are ordered at random, seeded by ``seed`` and the jet's position among all jets (not by the
    stored track order, which would favour a constant score), so the curve does not depend on batching.
    """
    sums = _deletion_sums(model, batches, score, steps, seed=seed)
    return _mean_drop(sums, sum(batch.num_graphs for batch in batches))


def _deletion_sums(
    model: GraphModel, batches: Iterable[Batch], score: Tensor, steps: int, *, seed: int, first_jet: int = 0
) -> Tensor:
    """``[num_batches, steps + 1]`` the drop of P(signal) summed over each batch's jets (the terms of
    :func:`_deletion_curve`); the jets are numbered from ``first_jet`` for the tie-break."""
    sums = []
    num_jets, offset = first_jet, 0
    with torch.no_grad(), eval_mode(model):
        for batch in batches:
            batch_score = score[offset : offset + batch.x.shape[0]]
            offset += batch.x.shape[0]
            jet_id = num_jets + torch.arange(batch.num_graphs)
            tiebreak = random_tiebreak(batch.batch, jet_id, seed=seed)
            rank = rank_within_jets(batch_score, batch.batch, tiebreak=tiebreak)
            num_tracks = torch.bincount(batch.batch, minlength=batch.num_graphs)[batch.batch]
            full = target_probability(model, model(batch))
            drop = torch.zeros(steps + 1, dtype=torch.float64)
            for k in range(1, steps + 1):
                keep = rank >= torch.clamp(num_tracks - 1, max=k)
                drop[k] = (full - target_probability(model, model(drop_tracks(batch, keep)))).sum()
            sums.append(drop)
            num_jets += batch.num_graphs
    return torch.stack(sums) if sums else torch.zeros(0, steps + 1, dtype=torch.float64)


def _mean_drop(sums: Tensor, num_jets: int) -> Tensor:
    """The deletion curve from the per-batch sums, added one batch after the other in jet order: the same
    float64 additions however the jets were cut into parts."""
    drop = torch.zeros(sums.shape[1], dtype=torch.float64)
    for batch_sum in sums:
        drop += batch_sum
    return drop / num_jets


def write_benchmark(result: BenchmarkResult, out_dir: Path, *, command: str) -> list[Path]:
    """Write ``table.csv``, ``table.md``, ``deletion_curves.csv`` and ``deletion.png`` to ``out_dir``."""
    from hepxai.plots.deletion import plot_deletion_curves
    from hepxai.plots.style import FIGURE_DPI

    paths = [out_dir / name for name in ("table.csv", "table.md", "deletion_curves.csv", "deletion.png")]
    with atomic_path(paths[0]) as temporary:
        result.table.to_csv(temporary, index=False, float_format="%.4f")
    write_text(paths[1], format_markdown(result, command=command))
    curves = pd.DataFrame({name: drop.numpy() for name, drop in result.deletion_curves.items()})
    curves.index.name = "tracks_removed"
    with atomic_path(paths[2]) as temporary:
        curves.to_csv(temporary, float_format="%.5f")
    with atomic_path(paths[3]) as temporary:
        plot_deletion_curves(result.deletion_curves).savefig(
            temporary, dpi=FIGURE_DPI, bbox_inches="tight", format="png"
        )
    return paths


def format_markdown(result: BenchmarkResult, *, command: str) -> str:
    """The table as markdown, with its size and the command that made it."""
    columns = list(result.table.columns)
    lines = [
        f"{result.num_jets} signal jets, {result.num_tracks} tracks, {result.num_true_tracks} from b hadrons "
        f"({result.num_true_tracks / result.num_tracks:.1%})"
        + (f"; jet selection: {result.selection}." if result.selection else ".")
        + (f" Explained: {_explained(result.target)}." if result.target else ""),
        *([f"{result.pairs.sentence()}."] if result.pairs is not None else []),
        "",
        f"`{command}`",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if c == "method" else "---:" for c in columns) + "|",
    ]
    for row in result.table.itertuples(index=False):
        cells = [value if isinstance(value, str) else f"{value:.3f}" for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _explained(target: str) -> str:
    first, _, second = target.partition("-")
    return f"the difference of the logits {first} − {second}" if second else f"the logit {target}"


def write_results(result: BenchmarkResult, path: Path, *, model: str) -> Path:
    """Write the committed results table: one row per method, the scores, the jet count and the model.

    Columns: ``method, interp_auc, prec_at_3, prec_at_5, prec_at_10, deletion_auc, jets, model``; timing is
    left out (it depends on the machine). Its provenance (command, commit, date, machine) goes to the
    sidecar ``path.with_suffix(".json")`` (:func:`hepxai.provenance.write_provenance`).
    """
    columns = ["method", "interp_auc", *(f"prec@{k}" for k in PRECISION_AT), "deletion_auc"]
    table = result.table[columns].rename(columns={f"prec@{k}": f"prec_at_{k}" for k in PRECISION_AT})
    table["jets"] = result.num_jets
    table["model"] = model
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, float_format="%.4f")
    write_provenance(path)
    return path
