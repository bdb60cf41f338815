"""A summary of a jet file: what a physicist checks before training on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepxai.data.root_io import open_tree
from hepxai.data.schema import Schema, load_schema
from hepxai.errors import InputError


@dataclass(frozen=True)
class FeatureSummary:
    name: str
    minimum: float
    maximum: float
    mean: float
    non_finite: int


@dataclass(frozen=True)
class FileSummary:
    path: Path
    schema: str
    num_jets: int
    num_signal: int
    num_background: int
    tracks_per_jet: np.ndarray  # [num_jets] before the cut at max_tracks
    features: list[FeatureSummary]

    def format(self) -> str:
        """A plain-text report for the terminal."""
        counts = self.tracks_per_jet
        quantiles = np.percentile(counts, [0, 25, 50, 75, 100]) if len(counts) else np.zeros(5)
        dropped = self.num_jets - self.num_signal - self.num_background
        lines = [
            f"{self.path}  (schema {self.schema})",
            f"jets: {self.num_jets}   H: {self.num_signal}   QCD: {self.num_background}   "
            f"unlabelled (dropped when read): {dropped}",
            "tracks per jet: min {:.0f}  q25 {:.0f}  median {:.0f}  q75 {:.0f}  max {:.0f}".format(
                *quantiles
            ),
            f"jets with 0 tracks: {int((counts == 0).sum())}   with 1 track: {int((counts == 1).sum())}",
            "",
            f"{'feature':<24} {'min':>12} {'max':>12} {'mean':>12} {'NaN/inf':>8}",
        ]
        lines += [
            f"{f.name:<24} {f.minimum:>12.4g} {f.maximum:>12.4g} {f.mean:>12.4g} {f.non_finite:>8d}"
            for f in self.features
        ]
        return "\n".join(lines)


def detect_schema(path: str | Path) -> Schema:
    """The built-in schema whose tree and branches the file holds (``cms_hbb`` first, then ``sanity``).

    Raises:
        InputError: an unreadable file, or one that fits no built-in schema; the message says why each
            schema was rejected.
    """
    path = Path(path)
    try:
        file = uproot.open(path)
        keys = {k.split(";")[0] for k in file}
    except Exception as err:
        msg = f"{path}: not a readable ROOT file ({type(err).__name__})"
        raise InputError(msg) from err
    reasons = []
    for name in ("cms_hbb", "sanity"):
        schema = load_schema(name)
        if schema.tree not in keys:
            reasons.append(f"{name}: no tree '{schema.tree}'")
            continue
        available = set(file[schema.tree].keys())
        needed = (*schema.unique_features, *schema.label_branches, *schema.spectators)
        missing = [branch for branch in needed if branch not in available]
        if not missing:
            return schema
        reasons.append(f"{name}: tree '{schema.tree}' lacks branch '{missing[0]}'")
    msg = f"{path}: fits no built-in schema ({'; '.join(reasons)}); pass --schema with a schema YAML"
    raise InputError(msg)


def _chunks(path: Path, tree: uproot.TTree, branches: list[str], chunk_size: int) -> Iterator[ak.Array]:
    """``tree.iterate``, with a truncated or corrupt file ending as one :class:`InputError`."""
    iterator = tree.iterate(branches, step_size=chunk_size, library="ak")
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except Exception as err:  # uproot raises OSError, ValueError, ... for damaged baskets
            reason = " ".join(str(err).split())  # uproot's messages span lines
            msg = f"{path}: could not read tree '{tree.name}' ({type(err).__name__}: {reason})"
            raise InputError(msg) from err
        yield chunk


def summarize(path: str | Path, schema: Schema, *, chunk_size: int = 100_000) -> FileSummary:
    """Count jets, labels and tracks, and range every feature, counting NaN/inf instead of failing on them."""
    path = Path(path)
    tree = open_tree(path, schema)
    names = list(schema.unique_features)
    low = dict.fromkeys(names, np.inf)
    high = dict.fromkeys(names, -np.inf)
    total = dict.fromkeys(names, 0.0)
    finite_count = dict.fromkeys(names, 0)
    bad = dict.fromkeys(names, 0)
    counts, signal, background = [], 0, 0
    branches = [*names, *schema.label_branches]
    for chunk in _chunks(path, tree, branches, chunk_size):
        counts.append(ak.to_numpy(ak.num(chunk[names[0]], axis=1)))
        is_signal = sum(ak.to_numpy(chunk[b]) for b in schema.signal_labels) > 0
        is_background = (
            ak.to_numpy(chunk[schema.background_flag])
            * sum(ak.to_numpy(chunk[b]) for b in schema.background_labels)
            > 0
        )
        signal += int((is_signal & ~is_background).sum())
        background += int((is_background & ~is_signal).sum())
        for name in names:
            values = ak.to_numpy(ak.flatten(chunk[name], axis=1)).astype(np.float64)
            finite = np.isfinite(values)
            bad[name] += int((~finite).sum())
            values = values[finite]
            if len(values):
                low[name] = min(low[name], values.min())
                high[name] = max(high[name], values.max())
                total[name] += values.sum()
                finite_count[name] += len(values)
    features = [
        FeatureSummary(name, low[name], high[name], total[name] / max(finite_count[name], 1), bad[name])
        for name in names
    ]
    return FileSummary(
        path,
        schema.name,
        tree.num_entries,
        signal,
        background,
        np.concatenate(counts) if counts else np.zeros(0, int),
        features,
    )
