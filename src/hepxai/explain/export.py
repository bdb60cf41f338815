"""Explaining many jets chunk by chunk into a relevance file (:mod:`hepxai.explain.relevance_file`)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch
from tqdm.auto import tqdm

from hepxai.data.jets import Jets, rechunk
from hepxai.data.schema import Schema
from hepxai.explain.base import Explainer, Explanation
from hepxai.explain.relevance_file import RelevanceWriter
from hepxai.explain.targets import class_probabilities, resolve_target
from hepxai.explain.walks import relevant_walks, top_walks
from hepxai.io.lock import lock_file
from hepxai.models.registry import GraphModel

log = logging.getLogger(__name__)

PLOT_INPUTS = ("track_pt", "track_etarel", "track_phirel", "track_isMu", "track_isEl")
"""Raw track inputs copied next to the relevance, where the schema has them, for the plots."""


def write_relevance(
    path: str | Path,
    explainer: Explainer,
    model: GraphModel,
    jets: Jets | Iterable[Jets],
    schema: Schema,
    *,
    target: str | None = None,
    edges: bool = False,
    walks: int = 0,
    chunk_size: int = 256,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
    total: int | None = None,
    first_jet_id: int = 0,
) -> Path:
    """Explain every jet of ``jets`` and write the jet, track and edge tables, atomically.

    Jets are explained and written ``chunk_size`` at a time, so memory does not grow with their number
    when ``jets`` is a stream of chunks (:func:`hepxai.data.root_io.iter_jets`).

    Args:
        path: The HDF5 file to write.
        explainer: Any registered explainer (``explain(batch, target=...)``).
        model: The model explained, for the jet table's logits and probabilities of its ``classes``.
        jets: The jets, or chunks of them in order; ``jet_id`` is a jet's index in them.
        schema: Their schema (feature names, spectators, truth).
        target: A class of the model (``"H"``), or the difference of two (``"H-QCD"``); default: the
            model's ``default_target``.
        edges: Also write the full ``[num_edges, 2 * num_features]`` edge relevance.
        walks: Also write each jet's ``walks`` relevant walks of largest ``|relevance|`` (the ``walks``
            table, :mod:`hepxai.explain.walks`); needs an explainer that gives edge relevance and a model
            of one message-passing step. 0: none.
        chunk_size: Jets explained at once.
        meta: Extra settings for the ``meta`` table (method, model path, ...).
        progress: Show a progress bar.
        total: Jets expected, for the progress bar when ``jets`` is a stream.
        first_jet_id: ``jet_id`` of the first jet: a part of a larger dataset numbers its jets on from
            those of the parts before it.
    """
    target = resolve_target(model, target)
    chunks = [jets] if isinstance(jets, Jets) else jets
    total = len(jets) if isinstance(jets, Jets) else total
    num_jets = 0
    with (
        lock_file(path),
        RelevanceWriter(path, list(schema.features), schema.display_names(), {}) as writer,
        tqdm(total=total, unit="jet", desc="explaining", disable=not progress, leave=False) as bar,
    ):
        for chunk in rechunk(chunks, chunk_size):
            jet_id = np.arange(first_jet_id + num_jets, first_jet_id + num_jets + len(chunk))
            batch = chunk.to_batch(jet_id=jet_id)
            explanation = explainer.explain(batch, target=target)
            with torch.no_grad():
                logits = model.eval()(batch)
            tables = _tables(chunk, batch, jet_id, schema, explanation, model, logits, edges=edges)
            if walks:
                tables["walks"] = _walk_table(model, explanation, batch, chunk, jet_id, walks)
            writer.append(**tables)
            num_jets += len(chunk)
            bar.update(len(chunk))
        writer.meta.update({"target": target, "schema": schema.name, "num_jets": num_jets, **(meta or {})})
    log.info("wrote the relevance of %d jets to %s", num_jets, path)
    return Path(path)


def _tables(
    jets: Jets,
    batch: Batch,
    jet_id: np.ndarray,
    schema: Schema,
    explanation: Explanation,
    model: GraphModel,
    logits: torch.Tensor,
    *,
    edges: bool,
) -> dict[str, pd.DataFrame]:
    def numpy(tensor: torch.Tensor | None) -> np.ndarray:
        if tensor is None:
            return np.full(len(jet_id), np.nan)
        return tensor.detach().cpu().numpy()

    classes = tuple(model.classes)
    logits_np = logits.detach().cpu().numpy().astype(np.float64)
    probabilities = class_probabilities(logits.detach()).cpu().numpy()
    jet_table = {
        "jet_id": jet_id,
        "label": jets.label,
        **{f"logit_{name}": logits_np[:, i] for i, name in enumerate(classes)},
        **{f"prob_{name}": probabilities[:, i] for i, name in enumerate(classes)},
        "explained_logit": numpy(explanation.logit),
        "absorbed": numpy(explanation.absorbed),
        **jets.spectators,
        **jets.jet_truth,
    }

    offsets = np.repeat(jets.offsets, jets.num_tracks)
    track_jet = np.repeat(jet_id, jets.num_tracks)
    position = np.arange(len(jets.features)) - offsets
    node = explanation.node.detach().cpu().numpy()
    track_table: dict[str, np.ndarray] = {"jet_id": track_jet, "track": position}
    track_table.update({f"relevance_{i}": node[:, i] for i in range(node.shape[1])})
    for name in PLOT_INPUTS:
        if name in schema.features:
            track_table[name] = jets.features[:, schema.features.index(name)]
    track_table.update(jets.track_truth)

    tables = {"jets": pd.DataFrame(jet_table), "tracks": pd.DataFrame(track_table)}
    if explanation.edge_significance is not None:
        edge_index = batch.edge_index.numpy()
        edge_jet = batch.batch[batch.edge_index[0]].numpy()
        edge_table: dict[str, np.ndarray] = {
            "jet_id": jet_id[edge_jet],
            "source": edge_index[0] - jets.offsets[edge_jet],
            "target": edge_index[1] - jets.offsets[edge_jet],
            "significance": numpy(explanation.edge_significance),
        }
        if edges and explanation.edge is not None:
            edge_relevance = explanation.edge.detach().cpu().numpy()
            num_features = node.shape[1]
            edge_table.update({f"relevance_source_{i}": edge_relevance[:, i] for i in range(num_features)})
            edge_table.update(
                {f"relevance_target_{i}": edge_relevance[:, num_features + i] for i in range(num_features)}
            )
        tables["edges"] = pd.DataFrame(edge_table)
    return tables


def _walk_table(
    model: GraphModel, explanation: Explanation, batch: Batch, jets: Jets, jet_id: np.ndarray, k: int
) -> pd.DataFrame:
    """Each jet's ``k`` relevant walks of largest ``|relevance|``, tracks by their position in the jet."""
    top, rank = top_walks(relevant_walks(model, explanation, batch.edge_index), k)
    jet = top.batch.cpu().numpy()
    offsets = jets.offsets[jet]
    return pd.DataFrame(
        {
            "jet_id": jet_id[jet],
            "source": top.source.cpu().numpy() - offsets,
            "target": top.target.cpu().numpy() - offsets,
            "relevance": top.relevance.detach().cpu().numpy(),
            "rank": rank.cpu().numpy(),
        }
    )


def explain_files(
    model_path: str | Path,
    data_paths: list[Path],
    out: str | Path,
    schema: Schema,
    *,
    target: str = "H",
    selection: str = "model",
    max_jets: int | None = None,
    edges: bool = False,
    walks: int = 0,
    input: str = "standardized",
    epsilon: float = 1e-6,
    aggregate: str = "sum",
    chunk_size: int = 256,
    read_chunk_size: int | None = None,
    progress: bool = True,
) -> Path:
    """Load a checkpoint, stream jets from ROOT files and write their LRP relevance to ``out``.

    Args:
        selection: One of :data:`hepxai.data.root_io.SELECTIONS`; ``model`` (default) applies the selection
            the model was trained with, so the explained jets are those it was trained on; the relevance
            file's ``meta`` records the one applied.
        walks: Keep each jet's top ``walks`` relevant walks (0: none).
        read_chunk_size: Entries read from the files at once (default
            :data:`~hepxai.data.root_io.STREAM_CHUNK_SIZE`); with ``chunk_size`` it bounds memory.

    Raises:
        InputError: a file is missing or malformed, or the model does not fit the schema.
    """
    from hepxai.data.root_io import STREAM_CHUNK_SIZE, iter_jets, selection_window
    from hepxai.errors import InputError

    model, schema, meta = prepare_model(
        model_path, data_paths, schema, selection=selection, input=input, epsilon=epsilon, aggregate=aggregate
    )
    meta["walks"] = walks
    chunks = iter_jets(
        data_paths,
        schema,
        selection=selection_window(meta["selection"]),
        chunk_size=read_chunk_size or STREAM_CHUNK_SIZE,
        progress=False,
    )
    first = next(chunks, None)
    if first is None:
        msg = (
            f"{', '.join(map(str, data_paths))}: no jet passed the labels and the "
            f"'{meta['selection']}' selection"
        )
        raise InputError(msg)
    explainer = lrp_explainer(model, meta)
    return write_relevance(
        out,
        explainer,
        model,
        rechunk(itertools.chain([first], chunks), chunk_size, max_jets=max_jets),
        schema,
        target=target,
        edges=edges,
        walks=walks,
        chunk_size=chunk_size,
        meta=meta,
        progress=progress,
        total=max_jets,
    )


def prepare_model(
    model_path: str | Path,
    data_paths: list[Path],
    schema: Schema,
    *,
    selection: str = "model",
    input: str = "standardized",
    epsilon: float = 1e-6,
    aggregate: str = "sum",
) -> tuple[GraphModel, Schema, dict[str, Any]]:
    """The model of a checkpoint, ``schema`` cut to the features it was trained on (checked against the
    model), and the relevance file's ``meta`` settings (method, LRP settings, model, data, the selection
    applied).

    Raises:
        InputError: the checkpoint is unreadable or the model does not fit the schema.
    """
    from hepxai.data.root_io import describe_selection, resolve_selection
    from hepxai.errors import InputError
    from hepxai.models.checkpoint import (
        model_from_state,
        read_checkpoint,
        training_features,
        training_selection,
    )

    content = read_checkpoint(model_path)
    schema = schema.subset(training_features(content))
    model = model_from_state(content, model_path)
    if model.num_features != schema.num_features:
        msg = (
            f"{model_path}: the model takes {model.num_features} track features, "
            f"schema '{schema.name}' has {schema.num_features}"
        )
        raise InputError(msg)
    applied = resolve_selection(selection, schema, trained=training_selection(content))
    meta: dict[str, Any] = {"method": "lrp", "input": input, "epsilon": epsilon, "aggregate": aggregate}
    meta.update(
        {
            "rules": ", ".join(sorted({repr(rule) for rule in lrp_explainer(model, meta).rules.values()})),
            "model": str(model_path),
            "data": ";".join(str(p) for p in data_paths),
            "selection": applied,
            "selection_window": describe_selection(applied),
        }
    )
    return model, schema, meta


def lrp_explainer(model: GraphModel, meta: dict[str, Any]) -> Explainer:
    """The LRP explainer of ``model`` with the ``input``, ``epsilon`` and ``aggregate`` of ``meta``."""
    from hepxai.explain.lrp import LRP

    settings = {key: meta[key] for key in ("epsilon", "input", "aggregate")}
    return LRP(model, **settings)
