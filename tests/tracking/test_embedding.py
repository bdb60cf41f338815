"""Metric-learning embedding: a resumed run repeats the uninterrupted one; radius graphs in its space."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from hepxai.errors import InputError
from hepxai.tracking.embedding import (
    EmbeddingConfig,
    EmbeddingGraphBuilder,
    hinge_loss,
    load_embedding,
    train_embedding,
)

CONFIG = EmbeddingConfig(hidden=16, layers=2, epochs=2, hard_queries=64, radius=0.2, max_neighbours=8)


def test_resumed_training_equals_uninterrupted(tiny_hits, tmp_path) -> None:
    train, valid = tiny_hits[:3], tiny_hits[3:4]
    whole = train_embedding(tmp_path / "whole", train, valid, CONFIG, progress=False)
    first = train_embedding(tmp_path / "resumed", train, valid, replace(CONFIG, epochs=1), progress=False)
    resumed = train_embedding(tmp_path / "resumed", train, valid, CONFIG, progress=False)
    assert len(first) == 1
    assert [r.train_loss for r in resumed] == [r.train_loss for r in whole]
    model_whole, _ = load_embedding(tmp_path / "whole", which="last")
    model_resumed, _ = load_embedding(tmp_path / "resumed", which="last")
    for (name, value), other in zip(
        model_whole.state_dict().items(), model_resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(value, other), name
    with pytest.raises(InputError, match="field 'hidden' is 16, this run asks for 32"):
        train_embedding(tmp_path / "whole", train, valid, replace(CONFIG, hidden=32), progress=False)


def test_training_lowers_the_loss(tiny_hits, tmp_path) -> None:
    config = replace(CONFIG, epochs=8)
    history = train_embedding(tmp_path, tiny_hits[:3], tiny_hits[3:4], config, progress=False)
    assert history[-1].val_loss < history[0].val_loss


def test_graph_joins_hits_within_the_radius(tiny_hits, tmp_path) -> None:
    train_embedding(tmp_path, tiny_hits[:3], tiny_hits[3:4], replace(CONFIG, epochs=1), progress=False)
    model, config = load_embedding(tmp_path)
    data = tiny_hits[4]
    edges = EmbeddingGraphBuilder(model, config.radius, config.max_neighbours).edges(data)
    with torch.no_grad():
        embedded = model(data.x)
    distance = (embedded[edges[0]] - embedded[edges[1]]).norm(dim=1)
    assert edges.shape[1] > 0
    assert (distance <= config.radius + 1e-6).all()
    assert torch.bincount(edges[1], minlength=data.num_nodes).max() <= config.max_neighbours
    loss = hinge_loss(model, data, config, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
    with pytest.raises(InputError, match="embedding checkpoint not found"):
        load_embedding(tmp_path / "nothing")
