"""The hit graph of one event and its files: the contract between graph building and everything after it.

One PyG ``Data`` per event, hits in the event's ``hit_id`` order. Graph builders fill the edges; every
other field comes from :func:`event_hits`. Fields (``H`` hits, ``E`` edges):

===================  ==============  ========================================================================
field                shape, dtype    meaning
===================  ==============  ========================================================================
``x``                [H, 3] float32  hit features ``(r / 1000 mm, φ / π, z / 1000 mm)`` (:data:`HIT_FEATURES`)
``pos``              [H, 3] float32  x, y, z in mm
``hit_id``           [H] int64       the event's hit ids
``volume_id``        [H] int64       detector volume, layer and module of the hit
``layer_id``
``module_id``
``edge_index``       [2, E] int64    directed inner → outer: the source is the hit closer to the origin
                                     (``|pos|``), each hit pair at most once, sorted by (source, target)
``edge_attr``        [E, 5] float32  pair geometry, target − source (:data:`EDGE_FEATURES`): Δr and Δz in
                                     the units of ``x``, Δφ / π (wrapped into [−1, 1)), Δη, ΔR = √(Δη²+Δφ²)
``y``                [E] float32     1 for a *true edge*: the two hits are consecutive hits of one particle
                                     (neighbours in ``hit_order``), either way round; else 0
``particle_id``      [H] int64       truth; 0 = noise
``hit_order``        [H] int64       0, 1, 2, ... along the particle's path (the detector's order); −1 noise
``particle_pt``      [H] float32     pT (GeV) of the hit's particle; 0 for noise
``particle_eta``     [H] float32     η of the hit's particle; 0 for noise
``particle_nhits``   [H] int64       hits of the hit's particle in this event; 0 for noise
``weight``           [H] float32     TrackML score weight (``metrics.tracking.trackml_weights``)
``num_true_edges``   [1] int64       true edges of the event (consecutive hit pairs), kept by the graph or not
``event_id``         [1] int64
===================  ==============  ========================================================================

Truth fields are there for training and evaluation only; a builder may use ``x``, ``pos`` and the
volume/layer/module ids. Graph files: ``FOLDER/{train,valid,test}/eventNNNNNNNNN.pt``, each the
``Data`` as a dict of tensors (loads with ``torch.load(weights_only=True)``), and ``FOLDER/graphs.yaml``
naming the setting, the builder and its parameters. Read them with :func:`read_graph` / :func:`read_graphs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import yaml
from torch_geometric.data import Data

from hepxai.data.detector.trackml_io import TrackMLEvent, event_prefix
from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.torch_files import load_torch
from hepxai.io.yaml_files import read_yaml
from hepxai.metrics.tracking import trackml_weights

HIT_FEATURES = ("r", "phi", "z")
FEATURE_SCALES = (1000.0, math.pi, 1000.0)
"""``x = (r, φ, z) / FEATURE_SCALES``: the tracker spans r ≤ 1.1 m, |z| ≤ 3 m (the Exa.TrkX scales)."""
EDGE_FEATURES = ("dr", "dphi", "dz", "deta", "dR")
GRAPHS_FILE = "graphs.yaml"


def event_hits(event: TrackMLEvent) -> Data:
    """The hits of an event (with truth and particles) as a ``Data`` without edges; see the module doc."""
    hits = event.hits
    truth = hits[["hit_id"]].merge(event.truth, on="hit_id", how="left", validate="one_to_one")
    particle_id = truth["particle_id"].to_numpy(np.int64, copy=True)
    pos = hits[["x", "y", "z"]].to_numpy(np.float64)
    particles = event.particles.set_index("particle_id")
    known = particle_id != 0
    pt = np.zeros(len(hits))
    eta = np.zeros(len(hits))
    px, py, pz = (particles.loc[particle_id[known], name].to_numpy(np.float64) for name in ("px", "py", "pz"))
    pt[known] = np.hypot(px, py)
    eta[known] = np.arcsinh(pz / pt[known])
    _, inverse, counts = np.unique(particle_id, return_inverse=True, return_counts=True)
    nhits = np.where(known, counts[inverse], 0)
    hit_order = truth["hit_order"].to_numpy(np.int64, copy=True)
    return Data(
        x=torch.from_numpy(hit_features(pos)),
        pos=torch.from_numpy(pos.astype(np.float32)),
        hit_id=torch.tensor(hits["hit_id"].to_numpy(np.int64)),
        volume_id=torch.tensor(hits["volume_id"].to_numpy(np.int64)),
        layer_id=torch.tensor(hits["layer_id"].to_numpy(np.int64)),
        module_id=torch.tensor(hits["module_id"].to_numpy(np.int64)),
        edge_index=torch.empty((2, 0), dtype=torch.long),
        edge_attr=torch.empty((0, len(EDGE_FEATURES))),
        y=torch.empty(0),
        particle_id=torch.from_numpy(particle_id),
        hit_order=torch.from_numpy(hit_order),
        particle_pt=torch.from_numpy(pt.astype(np.float32)),
        particle_eta=torch.from_numpy(eta.astype(np.float32)),
        particle_nhits=torch.from_numpy(nhits.astype(np.int64)),
        weight=torch.from_numpy(trackml_weights(particle_id, hit_order, nhits, pt).astype(np.float32)),
        num_true_edges=torch.tensor([true_edge_index(particle_id, hit_order).shape[1]]),
        event_id=torch.tensor([event.event_id]),
    )


def hit_features(pos: np.ndarray) -> np.ndarray:
    """``[H, 3]`` float32 ``(r, φ, z) / FEATURE_SCALES`` from positions ``[H, 3]`` in mm."""
    r = np.hypot(pos[:, 0], pos[:, 1])
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    return (np.stack([r, phi, pos[:, 2]], axis=1) / np.asarray(FEATURE_SCALES)).astype(np.float32)


def true_edge_index(particle_id: np.ndarray, hit_order: np.ndarray) -> np.ndarray:
    """``[2, T]`` consecutive hit pairs of each particle (earlier hit first); noise hits have none."""
    hits = np.flatnonzero(particle_id != 0)
    hits = hits[np.lexsort((hit_order[hits], particle_id[hits]))]
    same = particle_id[hits[1:]] == particle_id[hits[:-1]]
    return np.stack([hits[:-1][same], hits[1:][same]])


def orient_edges(pos: np.ndarray | torch.Tensor, edge_index: np.ndarray | torch.Tensor) -> np.ndarray:
    """Hit pairs as directed inner → outer edges, each pair once, sorted; self loops dropped.

    The source is the hit nearer the origin (``|pos|``, ties to the lower index), which for a particle
    from the beam line is the earlier hit on its way out, in the barrel and in the disks alike.
    """
    pos, edge_index = np.asarray(pos, np.float64), np.asarray(edge_index, np.int64)
    distance = np.linalg.norm(pos, axis=1)
    first, second = edge_index
    swap = (distance[second] < distance[first]) | ((distance[second] == distance[first]) & (second < first))
    source, target = np.where(swap, second, first), np.where(swap, first, second)
    keep = source != target
    key = np.unique(source[keep] * len(pos) + target[keep])
    return np.stack([key // len(pos), key % len(pos)]) if len(pos) else np.zeros((2, 0), np.int64)


def edge_truth(particle_id: np.ndarray, hit_order: np.ndarray, edge_index: np.ndarray) -> np.ndarray:
    """``[E]`` float32: 1 where the edge joins consecutive hits of one particle (either way round)."""
    num_hits = len(particle_id)
    true = true_edge_index(particle_id, hit_order)
    true_keys = np.concatenate([true[0] * num_hits + true[1], true[1] * num_hits + true[0]])
    return np.isin(edge_index[0] * num_hits + edge_index[1], true_keys).astype(np.float32)


def edge_features(x: np.ndarray, edge_index: np.ndarray) -> np.ndarray:
    """``[E, 5]`` float32 pair geometry target − source (:data:`EDGE_FEATURES`) from hit features ``x``."""
    x = np.asarray(x, np.float64)
    source, target = edge_index
    dr = x[target, 0] - x[source, 0]
    dphi = np.mod(x[target, 1] - x[source, 1] + 1.0, 2.0) - 1.0
    dz = x[target, 2] - x[source, 2]
    eta = np.arcsinh(x[:, 2] / np.maximum(x[:, 0], 1e-9))
    deta = eta[target] - eta[source]
    return np.stack([dr, dphi, dz, deta, np.hypot(deta, dphi * math.pi)], axis=1).astype(np.float32)


def with_edges(data: Data, edge_index: np.ndarray | torch.Tensor) -> Data:
    """A copy of ``data`` with the pairs ``edge_index`` as its edges (oriented), their truth and features."""
    edges = orient_edges(data.pos, edge_index)
    graph = data.clone()
    graph.edge_index = torch.from_numpy(edges)
    graph.edge_attr = torch.from_numpy(edge_features(data.x.numpy(), edges))
    graph.y = torch.from_numpy(edge_truth(data.particle_id.numpy(), data.hit_order.numpy(), edges))
    return graph


def graph_path(folder: str | Path, split: str, event_id: int) -> Path:
    """``FOLDER/SPLIT/eventNNNNNNNNN.pt``."""
    return Path(folder) / split / f"{event_prefix(event_id)}.pt"


def write_graph(data: Data, path: str | Path) -> Path:
    """Write ``data`` as a dict of tensors, atomically (a temporary file, then a rename)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        torch.save(data.to_dict(), temporary)
    return path


def read_graph(path: str | Path) -> Data:
    """One graph file as ``Data``.

    Raises:
        InputError: the file is missing or not a graph file.
    """
    path = Path(path)
    content = load_torch(path, "graph file")
    if not isinstance(content, dict):
        msg = f"{path}: not a graph file (holds a {type(content).__name__}, expected a dict of tensors)"
        raise InputError(msg)
    return Data.from_dict(checked_graph(content, path))


def checked_graph(content: dict, path: str | Path) -> dict:
    """``content`` after checking the fields every consumer relies on (shapes, dtypes, finite features,
    ``edge_index`` within the hits); one line naming ``path`` and the field otherwise."""
    for name in ("x", "edge_index", "edge_attr"):
        if not isinstance(content.get(name), torch.Tensor):
            msg = f"{path}: field '{name}' is missing (not a graph file)"
            raise InputError(msg)
    x, edge_index, edge_attr = content["x"], content["edge_index"], content["edge_attr"]
    num_hits = len(x)
    num_edges = edge_index.shape[1] if edge_index.dim() == 2 else -1
    expected = {
        "x": (x, (num_hits, len(HIT_FEATURES))),
        "edge_index": (edge_index, (2, num_edges)),
        "edge_attr": (edge_attr, (num_edges, len(EDGE_FEATURES))),
    }
    if isinstance(content.get("y"), torch.Tensor):
        expected["y"] = (content["y"], (num_edges,))
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            msg = f"{path}: field '{name}' has shape {tuple(tensor.shape)}, expected {shape}"
            raise InputError(msg)
    if edge_index.dtype != torch.int64:
        msg = f"{path}: field 'edge_index' has dtype {edge_index.dtype}, expected torch.int64"
        raise InputError(msg)
    if num_edges and (edge_index.min() < 0 or edge_index.max() >= num_hits):
        bad = int(edge_index[(edge_index < 0) | (edge_index >= num_hits)][0])
        msg = f"{path}: field 'edge_index' holds {bad}, outside the {num_hits} hits"
        raise InputError(msg)
    for name in ("x", "edge_attr", "pos"):
        tensor = content.get(name)
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not tensor.isfinite().all():
            value = tensor[~tensor.isfinite()][0].item()
            msg = f"{path}: field '{name}' holds {value}, expected finite values"
            raise InputError(msg)
    return content


def graph_files(folder: str | Path, split: str) -> list[Path]:
    """The graph files of ``split`` under a graph folder, by event id.

    Raises:
        InputError: the folder has no ``graphs.yaml`` or no graph of that split.
    """
    folder = Path(folder)
    if not (folder / GRAPHS_FILE).is_file():
        msg = f"{folder}: field '{GRAPHS_FILE}' is missing (not a graph folder)"
        raise InputError(msg)
    files = sorted((folder / split).glob("event*.pt"))
    if not files:
        msg = f"{folder / split}: no graph files (eventNNNNNNNNN.pt)"
        raise InputError(msg)
    return files


def read_graphs(folder: str | Path, split: str) -> Iterator[Data]:
    """The graphs of ``split`` under a graph folder, one at a time, by event id."""
    for path in graph_files(folder, split):
        yield read_graph(path)


def write_graph_record(folder: str | Path, record: dict) -> Path:
    """``FOLDER/graphs.yaml``: the setting, the builder and its parameters, the feature names and scales."""
    path = Path(folder) / GRAPHS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        **record,
        "hit_features": list(HIT_FEATURES),
        "feature_scales": list(FEATURE_SCALES),
        "edge_features": list(EDGE_FEATURES),
    }
    write_text(path, yaml.safe_dump(content, sort_keys=False))
    return path


def read_graph_record(folder: str | Path) -> dict:
    """The content of ``FOLDER/graphs.yaml``."""
    path = Path(folder) / GRAPHS_FILE
    if not path.is_file():
        msg = f"{folder}: field '{GRAPHS_FILE}' is missing (not a graph folder)"
        raise InputError(msg)
    return read_yaml(path)
