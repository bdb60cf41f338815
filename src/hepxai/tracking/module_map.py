"""Module-map graph building: the module pairs that consecutive hits of one particle joined in training
events, and every hit pair of an event on such a module pair.

The map is learnt from truth (training events only); building a graph uses nothing but the hits' module ids
(volume, layer, module) and positions, so no truth enters at inference. With ``cut_quantile`` set, a hit
pair also has to pass two geometric cuts learnt from the same training pairs: ``|z0|``, the z at the beam
line of the straight line through the two hits (mm), and ``|Δφ / Δr|``, the azimuthal bend per radial
distance (rad/m; about 0.15 × B / pT for a track from the beam line), each below its ``cut_quantile``
quantile over the training pairs. The cuts are global rather than per module pair: with 100 training events
a module pair has seen a handful of pairs, and per-pair ranges (even widened) lost 3–5% of the true edges
where the global cuts lose 0.2% (docs/tracking.md). Everything is vectorised (pandas merges).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.tracking.event_graph import true_edge_index

CUT_QUANTITIES = ("z0", "phi_slope")
COLUMNS = ("source", "target", "count")


@dataclass(frozen=True)
class ModuleMap:
    """Directed module pairs (inner → outer along particles) and the cuts on hit pairs, if any.

    ``table`` columns: ``source``, ``target`` (module keys, :func:`module_key`) and ``count`` (training hit
    pairs). ``cuts`` maps each of :data:`CUT_QUANTITIES` to the largest absolute value kept.
    """

    table: pd.DataFrame
    cuts: dict[str, float] | None = None

    @classmethod
    def fit(
        cls, graphs: Iterable[Data], *, cut_quantile: float | None = None, cut_pt_min: float = 0.0
    ) -> ModuleMap:
        """The map of the true consecutive hit pairs of ``graphs`` (``Data`` with truth; edges ignored).

        Args:
            graphs: Training events (:func:`~hepxai.tracking.event_graph.event_hits`).
            cut_quantile: Learn the geometric cuts as this quantile of the absolute values (None: no cuts).
            cut_pt_min: Learn the cuts from the pairs of particles above this pT (GeV) only, so a map
                made from training events with a lower pT cut (more module pairs seen) keeps the cuts of
                the setting's particles.
        """
        frames = []
        for data in graphs:
            key = module_key(data)
            source, target = true_edge_index(data.particle_id.numpy(), data.hit_order.numpy())
            quantities = _pair_quantities(data, source, target) if cut_quantile is not None else {}
            quantities["pt"] = data.particle_pt.numpy()[source]
            frames.append(pd.DataFrame({"source": key[source], "target": key[target], **quantities}))
        if not frames:
            msg = "module map: field 'graphs' is empty (no training events)"
            raise InputError(msg)
        pairs = pd.concat(frames, ignore_index=True)
        table = pairs.groupby(["source", "target"], sort=True).size().rename("count").reset_index()
        cuts = None
        if cut_quantile is not None:
            chosen = pairs[pairs["pt"] > cut_pt_min]
            if chosen.empty:
                msg = f"module map: field 'cut_pt_min' leaves no training pair (pT > {cut_pt_min} GeV)"
                raise InputError(msg)
            cuts = {name: float(np.quantile(np.abs(chosen[name]), cut_quantile)) for name in CUT_QUANTITIES}
        return cls(table, cuts)

    def edges(self, data: Data) -> torch.Tensor:
        """``[2, E]`` every hit pair of ``data`` on a module pair of the map (and within the cuts)."""
        hits = pd.DataFrame({"module": module_key(data), "hit": np.arange(data.num_nodes)})
        pairs = hits.rename(columns={"module": "source", "hit": "source_hit"}).merge(
            self.table[["source", "target"]], on="source"
        )
        pairs = pairs.merge(hits.rename(columns={"module": "target", "hit": "target_hit"}), on="target")
        source, target = pairs["source_hit"].to_numpy(), pairs["target_hit"].to_numpy()
        if self.cuts is not None:
            inside = np.ones(len(source), bool)
            for name, value in _pair_quantities(data, source, target).items():
                inside &= np.abs(value) <= self.cuts[name]
            source, target = source[inside], target[inside]
        return torch.from_numpy(np.stack([source, target]).astype(np.int64))

    def save(self, path: str | Path) -> Path:
        """Write the map as ``.npz``: one array per column, and the cuts (NaN: none)."""
        path = Path(path)
        cuts = {f"cut_{name}": np.nan if self.cuts is None else self.cuts[name] for name in CUT_QUANTITIES}
        with atomic_path(path) as temporary, temporary.open("wb") as file:
            np.savez(file, **cuts, **{name: self.table[name].to_numpy() for name in COLUMNS})
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModuleMap:
        """Read a map written by :meth:`save`.

        Raises:
            InputError: the file is missing or lacks a field.
        """
        path = Path(path)
        if not path.is_file():
            msg = f"{path}: module map not found"
            raise InputError(msg)
        with np.load(path) as archive:
            names = [*COLUMNS, *(f"cut_{name}" for name in CUT_QUANTITIES)]
            missing = [name for name in names if name not in archive.files]
            if missing:
                msg = f"{path}: field '{missing[0]}' is missing"
                raise InputError(msg)
            table = pd.DataFrame({name: archive[name] for name in COLUMNS})
            cuts = {name: float(archive[f"cut_{name}"]) for name in CUT_QUANTITIES}
        return cls(table, None if any(np.isnan(list(cuts.values()))) else cuts)


def module_key(data: Data) -> np.ndarray:
    """``[H]`` int64 one number per module: ``volume × 10⁸ + layer × 10⁵ + module``."""
    return (
        data.volume_id.numpy().astype(np.int64) * 100_000_000
        + data.layer_id.numpy().astype(np.int64) * 100_000
        + data.module_id.numpy().astype(np.int64)
    )


def _pair_quantities(data: Data, source: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """``z0`` (mm) and ``phi_slope`` (rad/m) of the hit pairs ``source → target``."""
    pos = data.pos.numpy().astype(np.float64)
    r = np.hypot(pos[:, 0], pos[:, 1])
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    dr = r[target] - r[source]
    safe_dr = np.where(np.abs(dr) > 1e-6, dr, 1e-6)
    dphi = np.mod(phi[target] - phi[source] + np.pi, 2 * np.pi) - np.pi
    z0 = pos[source, 2] - r[source] * (pos[target, 2] - pos[source, 2]) / safe_dr
    return {"z0": z0, "phi_slope": 1000.0 * dphi / safe_dr}
