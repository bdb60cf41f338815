"""Module-map graph building: the module pairs that consecutive hits of one particle joined in training
events, and every hit pair of an event on such a module pair.

The map is learnt from truth (training events only); building a graph uses nothing but the hits' module ids
(volume, layer, module), so no truth enters at inference. Optionally (``margin`` set) a hit pair also has to
fall inside the range of two pair quantities seen on that module pair in training, widened by ``margin``
times the range on both sides: the z at the beam line of the line through the two hits (``z0``, mm) and the
azimuthal bend per radial distance (``Δφ / Δr``, rad/m). Both are vectorised merges (pandas), no loop over
hits or modules.
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
from hepxai.tracking.event_graph import true_edge_index

CUT_QUANTITIES = ("z0", "phi_slope")


@dataclass(frozen=True)
class ModuleMap:
    """Directed module pairs (inner → outer along particles), with the training range of each cut quantity.

    ``table`` columns: ``source``, ``target`` (module keys, :func:`module_key`), ``count`` (training hit
    pairs) and ``{z0,phi_slope}_{min,max}``.
    """

    table: pd.DataFrame
    margin: float | None = None  # None: no geometric cuts

    @classmethod
    def fit(cls, graphs: Iterable[Data], *, margin: float | None = None) -> ModuleMap:
        """The map of the true consecutive hit pairs of ``graphs`` (``Data`` with truth, edges ignored)."""
        frames = []
        for data in graphs:
            key = module_key(data)
            source, target = true_edge_index(data.particle_id.numpy(), data.hit_order.numpy())
            frames.append(
                pd.DataFrame(
                    {"source": key[source], "target": key[target], **_pair_quantities(data, source, target)}
                )
            )
        if not frames:
            msg = "module map: field 'graphs' is empty (no training events)"
            raise InputError(msg)
        pairs = pd.concat(frames, ignore_index=True)
        grouped = pairs.groupby(["source", "target"], sort=True)
        table = grouped.size().rename("count").to_frame()
        for name in CUT_QUANTITIES:
            table[f"{name}_min"] = grouped[name].min()
            table[f"{name}_max"] = grouped[name].max()
        return cls(table.reset_index(), margin)

    def edges(self, data: Data) -> torch.Tensor:
        """``[2, E]`` every hit pair of ``data`` on a module pair of the map (within the cuts if any)."""
        hits = pd.DataFrame({"module": module_key(data), "hit": np.arange(data.num_nodes)})
        pairs = hits.rename(columns={"module": "source", "hit": "source_hit"}).merge(self.table, on="source")
        pairs = pairs.merge(hits.rename(columns={"module": "target", "hit": "target_hit"}), on="target")
        source, target = pairs["source_hit"].to_numpy(), pairs["target_hit"].to_numpy()
        if self.margin is not None and len(pairs):
            inside = np.ones(len(pairs), bool)
            for name, value in _pair_quantities(data, source, target).items():
                low, high = pairs[f"{name}_min"].to_numpy(), pairs[f"{name}_max"].to_numpy()
                slack = self.margin * (high - low)
                inside &= (value >= low - slack) & (value <= high + slack)
            source, target = source[inside], target[inside]
        return torch.from_numpy(np.stack([source, target]).astype(np.int64))

    def save(self, path: str | Path) -> Path:
        """Write the map as ``.npz`` (one array per column, and the margin)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        margin = np.nan if self.margin is None else self.margin
        temporary = path.with_name(f".{path.stem}.partial.npz")
        np.savez(temporary, margin=margin, **{name: self.table[name].to_numpy() for name in self.table})
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModuleMap:
        """Read a map written by :meth:`save`.

        Raises:
            InputError: the file is missing or lacks a column.
        """
        path = Path(path)
        if not path.is_file():
            msg = f"{path}: module map not found"
            raise InputError(msg)
        with np.load(path) as archive:
            columns = ["source", "target", "count"] + [
                f"{name}_{end}" for name in CUT_QUANTITIES for end in ("min", "max")
            ]
            missing = [name for name in [*columns, "margin"] if name not in archive.files]
            if missing:
                msg = f"{path}: field '{missing[0]}' is missing"
                raise InputError(msg)
            margin = float(archive["margin"])
            table = pd.DataFrame({name: archive[name] for name in columns})
        return cls(table, None if np.isnan(margin) else margin)


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
