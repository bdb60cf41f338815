"""Metric-learning graph building: an MLP maps each hit to a point in a 12-dimensional space where the hits
of one particle lie close together, and the graph joins hits within a radius there.

Training (Exa.TrkX's embedding stage): per event, the true consecutive hit pairs are pulled together and
negative pairs pushed apart with a hinge embedding loss on squared distances ``d``: ``d`` for a true pair,
``max(0, margin² − d)`` for a negative one. Negatives are random hit pairs of the event plus *hard* ones,
the nearest neighbours in the current embedding (not true pairs) of a random subset of hits (a scipy
KD-tree). One step is one event.
Building a graph is inference only: embed, then :func:`hepxai.data.graphs.radius_edge_index` (a KD-tree
for events of this size) with at most ``max_neighbours`` per hit.

A run folder holds ``config.yaml``, ``last.pt`` (model, optimizer, epoch; written after every epoch, so a
stopped run resumes from its last finished epoch) and ``best.pt`` (lowest validation loss). Every random
choice comes from the seed, the epoch and the event, so a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy.spatial import cKDTree
from torch import Tensor, nn
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.data.graphs import radius_edge_index
from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.torch_files import load_torch
from hepxai.io.yaml_files import read_yaml
from hepxai.tracking.event_graph import orient_edges, true_edge_index

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingConfig:
    """Model, loss, training and graph settings."""

    embedding_dim: int = 12
    hidden: int = 128
    layers: int = 3
    margin: float = 0.1  # hinge margin (and training radius) in embedding units
    random_pairs: int = 4  # random negative pairs per true pair
    hard_queries: int = 1024  # hits whose nearest neighbours are tried as hard negatives, per event
    hard_neighbours: int = 8  # nearest neighbours per such hit
    epochs: int = 20
    learning_rate: float = 1e-3
    seed: int = 0
    radius: float = 0.1  # graph radius
    max_neighbours: int = 64  # graph: neighbours per hit at most


GRAPH_ONLY = ("epochs", "radius", "max_neighbours")
"""Config fields a resumed run may change: more epochs, another graph radius."""


class HitEmbedding(nn.Module):
    """MLP from hit features ``x = (r, φ, z) / scales`` (φ fed as cos φ, sin φ) to ``embedding_dim``."""

    def __init__(self, config: EmbeddingConfig) -> None:
        super().__init__()
        sizes = [4] + [config.hidden] * config.layers
        blocks: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(sizes):
            blocks += [nn.Linear(width_in, width_out), nn.LayerNorm(width_out), nn.Tanh()]
        self.network = nn.Sequential(*blocks, nn.Linear(sizes[-1], config.embedding_dim))

    def forward(self, x: Tensor) -> Tensor:
        phi = x[:, 1] * torch.pi
        inputs = torch.stack([x[:, 0], torch.cos(phi), torch.sin(phi), x[:, 2]], dim=1)
        return self.network(inputs)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's losses and the validation graphs at the configured radius."""

    epoch: int
    train_loss: float
    val_loss: float
    val_edge_efficiency: float
    val_edge_purity: float
    seconds: float


def hinge_loss(
    model: HitEmbedding, data: Data, config: EmbeddingConfig, generator: torch.Generator
) -> Tensor:
    """The hinge embedding loss of one event: true pairs, random pairs and hard negatives."""
    embedded = model(data.x)
    num_hits = data.num_nodes
    true_pairs = torch.from_numpy(true_edge_index(data.particle_id.numpy(), data.hit_order.numpy()))
    num_random = config.random_pairs * true_pairs.shape[1]
    random_pairs = torch.randint(0, num_hits, (2, num_random), generator=generator)
    queries = torch.randperm(num_hits, generator=generator)[: config.hard_queries]
    points = embedded.detach().double().numpy()
    neighbours = cKDTree(points).query(points[queries.numpy()], k=min(config.hard_neighbours + 1, num_hits))[
        1
    ]
    neighbours = torch.from_numpy(np.asarray(neighbours, np.int64).reshape(len(queries), -1))
    hard_pairs = torch.stack([neighbours.flatten(), queries.repeat_interleave(neighbours.shape[1])])
    pairs = torch.cat([true_pairs, random_pairs, hard_pairs], dim=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    truth = _is_true_pair(pairs, true_pairs, num_hits)
    squared = (embedded[pairs[0]] - embedded[pairs[1]]).square().sum(-1)
    loss = torch.where(truth, squared, torch.relu(config.margin**2 - squared))
    return loss.mean()


def train_embedding(
    folder: str | Path,
    train: list[Data],
    valid: list[Data],
    config: EmbeddingConfig,
    *,
    progress: bool = True,
) -> list[EpochRecord]:
    """Train (or resume) the embedding in ``folder``; returns the history of all epochs.

    Raises:
        InputError: ``folder`` holds a run with another config, or there are no training events.
    """
    if not train or not valid:
        msg = "embedding: field 'events' is empty (training and validation events needed)"
        raise InputError(msg)
    folder = Path(folder)
    _claim(folder, config)
    torch.manual_seed(config.seed)
    model = HitEmbedding(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    history: list[EpochRecord] = []
    if (folder / "last.pt").is_file():
        state = load_torch(folder / "last.pt", "embedding checkpoint")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = [EpochRecord(**record) for record in state["history"]]
        log.info("%s: resuming after epoch %d", folder, len(history))
    for epoch in range(len(history) + 1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = np.random.default_rng([config.seed, epoch]).permutation(len(train))
        losses = []
        for step in tqdm(
            order, desc=f"embedding epoch {epoch}", unit="event", disable=not progress, leave=False
        ):
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch * 10_007 + int(step))
            loss = hinge_loss(model, train[step], config, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        val_loss, efficiency, purity = _validate(model, valid, config)
        history.append(
            EpochRecord(
                epoch, float(np.mean(losses)), val_loss, efficiency, purity, time.perf_counter() - start
            )
        )
        log.info("embedding %s", history[-1])
        if val_loss <= min(record.val_loss for record in history):
            _save(folder / "best.pt", model, optimizer, history)
        _save(folder / "last.pt", model, optimizer, history)
    return history


def load_embedding(folder: str | Path, *, which: str = "best") -> tuple[HitEmbedding, EmbeddingConfig]:
    """The trained model of a run folder (``best`` or ``last``) in eval mode, with its config.

    Raises:
        InputError: the folder has no such checkpoint.
    """
    folder = Path(folder)
    path = folder / f"{which}.pt"
    if not path.is_file() or not (folder / "config.yaml").is_file():
        msg = f"{path}: embedding checkpoint not found (train it first)"
        raise InputError(msg)
    config = EmbeddingConfig(**read_yaml(folder / "config.yaml"))
    model = HitEmbedding(config)
    model.load_state_dict(load_torch(path, "embedding checkpoint")["model"])
    return model.eval(), config


def trained_epochs(folder: str | Path) -> int:
    """Epochs the run in ``folder`` has finished (0 without one)."""
    path = Path(folder) / "last.pt"
    if not path.is_file():
        return 0
    return len(load_torch(path, "embedding checkpoint")["history"])


@dataclass(frozen=True)
class EmbeddingGraphBuilder:
    """Graph builder: hits within ``radius`` of each other in the embedding (at most ``max_neighbours``)."""

    model: HitEmbedding
    radius: float
    max_neighbours: int

    def edges(self, data: Data) -> Tensor:
        with torch.no_grad():
            embedded = self.model(data.x)
        return radius_edge_index(embedded, None, self.radius, max_neighbors=self.max_neighbours)


def _validate(model: HitEmbedding, valid: list[Data], config: EmbeddingConfig) -> tuple[float, float, float]:
    """Validation loss (fixed negatives) and graph edge efficiency and purity at the configured radius."""
    model.eval()
    builder = EmbeddingGraphBuilder(model, config.radius, config.max_neighbours)
    losses, kept, edges, true_edges = [], 0, 0, 0
    with torch.no_grad():
        for index, data in enumerate(valid):
            generator = torch.Generator().manual_seed(index)
            losses.append(hinge_loss(model, data, config, generator).item())
            edge_index = torch.from_numpy(orient_edges(data.pos, builder.edges(data)))
            true_pairs = torch.from_numpy(true_edge_index(data.particle_id.numpy(), data.hit_order.numpy()))
            kept += int(_is_true_pair(edge_index, true_pairs, data.num_nodes).sum())
            edges += edge_index.shape[1]
            true_edges += true_pairs.shape[1]
    return float(np.mean(losses)), kept / max(true_edges, 1), kept / max(edges, 1)


def _is_true_pair(pairs: Tensor, true_pairs: Tensor, num_hits: int) -> Tensor:
    keys = torch.cat([true_pairs[0] * num_hits + true_pairs[1], true_pairs[1] * num_hits + true_pairs[0]])
    return torch.isin(pairs[0] * num_hits + pairs[1], keys)


def _claim(folder: Path, config: EmbeddingConfig) -> None:
    path = folder / "config.yaml"
    wanted = asdict(config)
    if path.is_file():
        earlier = read_yaml(path)
        for key, value in wanted.items():
            if key not in GRAPH_ONLY and earlier.get(key) != value:
                msg = f"{path}: field '{key}' is {earlier.get(key)!r}, this run asks for {value!r}"
                raise InputError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(path, yaml.safe_dump(wanted, sort_keys=False))


def _save(
    path: Path, model: HitEmbedding, optimizer: torch.optim.Optimizer, history: list[EpochRecord]
) -> None:
    content = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": [asdict(record) for record in history],
    }
    with atomic_path(path) as temporary:
        torch.save(content, temporary)
