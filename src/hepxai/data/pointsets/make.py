"""Point-set datasets made on disk (synthetic clouds, ActsTrack-like hits, SynMol molecules), and described.

A dataset folder records its kind and settings in ``dataset.yaml``
(:func:`hepxai.data.pointsets.store.save_pointset`). Making one into a folder that already holds a dataset
of the same kind and settings does nothing (idempotent); other settings stop with one line naming the field.
Samples hold points only (``x``, ``pos``, ``y``, ``node_truth`` and per-kind extras), no graph: backbones
build the kNN graph from ``pos`` (:mod:`hepxai.models.point_graph`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch_geometric.data import Data

from hepxai.data.pointsets import actstrack, synmol, tau3mu
from hepxai.data.pointsets.actstrack import ActsTrackSettings
from hepxai.data.pointsets.store import DATASET_FILE, SPLITS, load_pointset, pointset_info, save_pointset
from hepxai.data.pointsets.synmol import SynMolSettings
from hepxai.data.pointsets.synthetic import FEATURES as SYNTHETIC_FEATURES
from hepxai.data.pointsets.synthetic import synthetic_point_clouds
from hepxai.data.pointsets.tau3mu import Tau3MuSettings
from hepxai.errors import InputError
from hepxai.io.lock import lock_folder

log = logging.getLogger(__name__)

KINDS = ("synthetic", "actstrack", "synmol", "tau3mu")


def split_samples(
    samples: Sequence[Data], fractions: Sequence[float], seed: int, groups: Sequence[str] | None = None
) -> dict[str, list[Data]]:
    """``train``/``valid``/``test`` by ``fractions``, at random (seeded) within each group (one if None).

    Each group is shuffled and cut at the cumulative fractions, so every split holds the groups in the same
    proportions (to a sample).
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(groups if groups is not None else [""] * len(samples))
    splits: dict[str, list[int]] = {name: [] for name in SPLITS}
    for group in sorted(set(labels.tolist())):
        members = rng.permutation(np.flatnonzero(labels == group))
        cuts = np.round(np.cumsum(fractions)[:-1] * len(members)).astype(int)
        for name, part in zip(SPLITS, np.split(members, cuts), strict=True):
            splits[name].extend(part.tolist())
    return {name: [samples[i] for i in rng.permutation(index)] for name, index in splits.items()}


def existing(folder: Path, kind: str, settings: dict[str, Any]) -> bool:
    """True when ``folder`` holds this dataset already; an :class:`InputError` when it holds another.

    Raises:
        InputError: a dataset of another kind or other settings is in ``folder``.
    """
    if not (folder / DATASET_FILE).is_file():
        return False
    info = pointset_info(folder)
    path = folder / DATASET_FILE
    if info["kind"] != kind:
        msg = f"{path}: field 'kind' is {info['kind']!r}, this command makes {kind!r}; use another --out"
        raise InputError(msg)
    earlier = info.get("settings") or {}
    for key, value in settings.items():
        if earlier.get(key) != value:
            msg = (
                f"{path}: field 'settings.{key}' is {earlier.get(key)!r}, this command asks for {value!r}; "
                "use the same settings, or another --out"
            )
            raise InputError(msg)
    return True


def write_dataset(
    folder: Path,
    kind: str,
    settings: dict[str, Any],
    splits: dict[str, list[Data]],
    seconds: float,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save the splits with ``settings``, the build time and ``extra`` in ``dataset.yaml``."""
    meta = {"settings": settings, "build_seconds": round(seconds, 1), **(extra or {})}
    save_pointset(folder, kind, splits, meta)
    log.info("%s: %s dataset written in %.0f s (%s)", folder, kind, seconds, _sizes(splits))
    return folder


def _sizes(splits: dict[str, list[Data]]) -> str:
    return ", ".join(f"{name} {len(graphs)}" for name, graphs in splits.items())


@dataclass(frozen=True)
class SplitStatistics:
    """What ``hepxai pointsets inspect`` prints for one split."""

    split: str
    samples: int
    points: float  # mean points per sample
    truth_points: float  # mean true points per positive sample
    positive_fraction: float
    features: int


def pointset_statistics(folder: str | Path) -> list[SplitStatistics]:
    """Counts per split of a dataset folder.

    Raises:
        InputError: not a dataset folder, or a split missing or empty.
    """
    info = pointset_info(folder)
    if info["kind"] not in KINDS:
        path = Path(folder) / DATASET_FILE
        msg = f"{path}: field 'kind' is {info['kind']!r}, expected a point-set kind ({', '.join(KINDS)})"
        raise InputError(msg)
    rows = []
    for split in info.get("splits", {}):
        graphs = load_pointset(folder, split).graphs
        positive = [graph for graph in graphs if int(graph.y.reshape(-1)[0]) == 1]
        rows.append(
            SplitStatistics(
                split=split,
                samples=len(graphs),
                points=float(np.mean([graph.num_nodes for graph in graphs])),
                truth_points=float(np.mean([int(g.node_truth.sum()) for g in positive])) if positive else 0.0,
                positive_fraction=len(positive) / len(graphs),
                features=int(graphs[0].x.shape[1]),
            )
        )
    return rows


def make_synthetic(folder: str | Path, *, samples: int = 2000, seed: int = 0) -> Path:
    """The clouds of :func:`~hepxai.data.pointsets.synthetic.synthetic_point_clouds`, split 70/15/15."""
    folder, settings = Path(folder), {"samples": samples, "seed": seed}
    if samples < 2:
        msg = f"pointsets make synthetic: field 'samples' must be >= 2 (got {samples})"
        raise InputError(msg)
    with lock_folder(folder):  # a second run into this folder stops at once
        if existing(folder, "synthetic", settings):
            log.info("%s: the synthetic dataset is there already", folder)
            return folder
        start = time.perf_counter()
        clouds = synthetic_point_clouds(samples, seed=seed)
        for cloud in clouds:  # the graph is rebuilt from pos by the backbones
            del cloud.edge_index, cloud.edge_attr
        splits = split_samples(clouds, (0.7, 0.15, 0.15), seed, [str(int(c.y)) for c in clouds])
        extra = {
            "units": {"pos": "dimensionless, in [-1, 1]^3", "x": "energy in [0, 2], noise N(0, 1)"},
            "features": list(SYNTHETIC_FEATURES),
        }
        return write_dataset(folder, "synthetic", settings, splits, time.perf_counter() - start, extra)


def make_actstrack(
    folder: str | Path,
    settings: ActsTrackSettings,
    *,
    workers: int = 1,
    progress: bool = True,
    scheduler: str | None = None,
) -> Path:
    """ActsTrack-like samples (:mod:`hepxai.data.pointsets.actstrack`), split 70/15/15 within each class."""
    folder, record = Path(folder), actstrack.settings_record(settings)
    settings.check()
    with lock_folder(folder):  # a second run into this folder stops at once
        if existing(folder, "actstrack", record):
            log.info("%s: the actstrack dataset is there already", folder)
            return folder
        start = time.perf_counter()
        samples, events = actstrack.actstrack_samples(
            settings, workers=workers, progress=progress, scheduler=scheduler
        )
        splits = split_samples(samples, (0.7, 0.15, 0.15), settings.seed, [str(int(s.y)) for s in samples])
        extra = {
            "events": events,
            "units": {"pos": f"{actstrack.LENGTH_UNIT_MM:g} mm (the tracker half-length)", "momentum": "GeV"},
            "features": ["one"],
        }
        return write_dataset(folder, "actstrack", record, splits, time.perf_counter() - start, extra)


def make_synmol(
    folder: str | Path,
    settings: SynMolSettings,
    *,
    workers: int = 1,
    progress: bool = True,
    scheduler: str | None = None,
) -> Path:
    """SynMol molecules (:mod:`hepxai.data.pointsets.synmol`), split 78/11/11 within each group."""
    folder, record = Path(folder), synmol.settings_record(settings)
    settings.check()
    with lock_folder(folder):  # a second run into this folder stops at once
        if existing(folder, "synmol", record):
            log.info("%s: the synmol dataset is there already", folder)
            return folder
        start = time.perf_counter()
        groups = synmol.synmol_samples(settings, workers=workers, progress=progress, scheduler=scheduler)
        samples = [sample for group in synmol.GROUPS for sample in groups[group]]
        labels = [group for group in synmol.GROUPS for _ in groups[group]]
        splits = split_samples(samples, synmol.SPLIT, settings.seed, labels)
        extra = {"units": {"pos": "angstrom, centred"}, "features": list(synmol.ATOM_TYPES)}
        return write_dataset(folder, "synmol", record, splits, time.perf_counter() - start, extra)


def make_tau3mu(folder: str | Path, settings: Tau3MuSettings, *, progress: bool = True) -> Path:
    """Tau3Mu-like samples (:mod:`hepxai.data.pointsets.tau3mu`), split 70/15/15 within each class."""
    folder, record = Path(folder), tau3mu.settings_record(settings)
    settings.check()
    with lock_folder(folder):  # a second run into this folder stops at once
        if existing(folder, "tau3mu", record):
            log.info("%s: the tau3mu dataset is there already", folder)
            return folder
        start = time.perf_counter()
        samples, counts = tau3mu.tau3mu_samples(settings, progress=progress)
        splits = split_samples(samples, (0.7, 0.15, 0.15), settings.seed, [str(int(s.y)) for s in samples])
        extra = {
            **counts,
            "units": {"pos": "(eta, phi in rad, 0)", "x": "local bending angle, rad"},
            "features": ["bend"],
        }
        return write_dataset(folder, "tau3mu", record, splits, time.perf_counter() - start, extra)
