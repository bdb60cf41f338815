"""Jets in memory: flat track features plus per-jet counts, convertible to PyG batches or padded tensors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.errors import InputError


@dataclass(frozen=True)
class Jets:
    """A set of jets with variable numbers of tracks, stored flat (no padding).

    ``label`` is 1 for H->bb and 0 for QCD. ``spectators`` and ``jet_truth`` hold one value per jet,
    ``track_truth`` one per track; truth is carried along for scoring explanations, never fed to a model.
    """

    features: np.ndarray  # [num_tracks_total, num_features] float32
    num_tracks: np.ndarray  # [num_jets] int64
    label: np.ndarray  # [num_jets] int64
    feature_names: tuple[str, ...]
    spectators: dict[str, np.ndarray] = field(default_factory=dict)
    track_truth: dict[str, np.ndarray] = field(default_factory=dict)
    jet_truth: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.num_tracks)

    @property
    def num_features(self) -> int:
        """Features per track."""
        return int(self.features.shape[1])

    @property
    def offsets(self) -> np.ndarray:
        """``[num_jets]`` index of each jet's first track."""
        return np.cumsum(self.num_tracks) - self.num_tracks

    def select(self, jet_index: np.ndarray) -> Jets:
        """The jets at ``jet_index`` (integer indices or a boolean mask), in that order, as a copy.

        The result never shares memory with ``self``: writing to one leaves the other unchanged, whether the
        jets were consecutive or not.
        """
        jet_index = np.asarray(jet_index)
        if jet_index.dtype == bool:
            jet_index = np.flatnonzero(jet_index)
        counts = self.num_tracks[jet_index]
        if len(jet_index) and np.all(np.diff(jet_index) == 1):
            # consecutive jets (chunks, batches in file order): copying a slice is faster than gathering
            first = int(self.offsets[jet_index[0]])
            track_index = slice(first, first + int(counts.sum()))
            jet_index = slice(int(jet_index[0]), int(jet_index[-1]) + 1)
        else:
            track_index = _ranges(self.offsets[jet_index], counts)

        def take(values: np.ndarray, index: slice | np.ndarray) -> np.ndarray:
            return values[index].copy() if isinstance(index, slice) else values[index]

        return Jets(
            features=take(self.features, track_index),
            num_tracks=counts,
            label=take(self.label, jet_index),
            feature_names=self.feature_names,
            spectators={k: take(v, jet_index) for k, v in self.spectators.items()},
            track_truth={k: take(v, track_index) for k, v in self.track_truth.items()},
            jet_truth={k: take(v, jet_index) for k, v in self.jet_truth.items()},
        )

    def with_features(self, names: tuple[str, ...] | list[str]) -> Jets:
        """The same jets with only the track features ``names``, in that order (empty: all of them).

        A repeated name takes its first column, as :meth:`hepxai.data.schema.Schema.subset` reads it.

        Raises:
            InputError: a name the jets do not have.
        """
        if not names:
            return self
        unknown = [name for name in names if name not in self.feature_names]
        if unknown:
            valid = ", ".join(dict.fromkeys(self.feature_names))
            msg = f"jets have no track feature '{unknown[0]}' (valid: {valid})"
            raise InputError(msg)
        columns = [self.feature_names.index(name) for name in names]
        return replace(
            self, features=np.ascontiguousarray(self.features[:, columns]), feature_names=tuple(names)
        )

    @staticmethod
    def concatenate(parts: list[Jets]) -> Jets:
        """Join jets from several chunks or files; the parts must share feature names and extra fields."""
        if not parts:
            msg = "no jets to concatenate"
            raise ValueError(msg)
        first = parts[0]

        def join(attribute: str) -> dict[str, np.ndarray]:
            keys = getattr(first, attribute).keys()
            return {k: np.concatenate([getattr(p, attribute)[k] for p in parts]) for k in keys}

        return Jets(
            features=np.concatenate([p.features for p in parts]),
            num_tracks=np.concatenate([p.num_tracks for p in parts]),
            label=np.concatenate([p.label for p in parts]),
            feature_names=first.feature_names,
            spectators=join("spectators"),
            track_truth=join("track_truth"),
            jet_truth=join("jet_truth"),
        )

    def to_batch(self, jet_id: np.ndarray | None = None) -> Batch:
        """A PyG ``Batch`` of fully connected directed track graphs (n(n-1) edges per jet).

        Attributes: ``x`` [tracks, features], ``edge_index``, ``batch``, ``ptr``, ``y`` [jets],
        ``u`` [jets, spectators], ``jet_id`` [jets], and every truth field under its branch name.
        """
        num_tracks = self.num_tracks.astype(np.int64)
        ids = np.arange(len(self)) if jet_id is None else np.asarray(jet_id)
        batch = Batch(
            x=torch.from_numpy(self.features),
            edge_index=fully_connected_edge_index(num_tracks),
            batch=torch.from_numpy(np.repeat(np.arange(len(self)), num_tracks)),
            ptr=torch.from_numpy(np.concatenate([[0], np.cumsum(num_tracks)])),
            y=torch.from_numpy(self.label.astype(np.int64)),
            u=torch.from_numpy(self._spectator_matrix()),
            jet_id=torch.from_numpy(ids.astype(np.int64)),
        )
        for name, values in {**self.track_truth, **self.jet_truth}.items():
            batch[name] = torch.from_numpy(values)
        return batch

    def to_padded(self) -> tuple[Tensor, Tensor]:
        """Tracks padded with zeros to the largest jet of this set.

        Returns:
            ``x`` [num_jets, max_tracks, num_features] and a boolean ``mask`` [num_jets, max_tracks].
        """
        width = int(self.num_tracks.max()) if len(self) else 0
        jet = np.repeat(np.arange(len(self)), self.num_tracks)
        position = np.arange(len(self.features)) - np.repeat(self.offsets, self.num_tracks)
        x = torch.zeros((len(self), width, self.features.shape[1]), dtype=torch.float32)
        mask = torch.zeros((len(self), width), dtype=torch.bool)
        x[jet, position] = torch.from_numpy(self.features)
        mask[jet, position] = True
        return x, mask

    def _spectator_matrix(self) -> np.ndarray:
        if not self.spectators:
            return np.zeros((len(self), 0), dtype=np.float32)
        return np.stack(list(self.spectators.values()), axis=1).astype(np.float32)


def rechunk(chunks: Iterable[Jets], size: int, *, max_jets: int | None = None) -> Iterator[Jets]:
    """The jets of ``chunks`` again, in chunks of exactly ``size`` (the last one may be smaller).

    Streaming a file chunk by chunk then gives the same batches as slicing all its jets at once, whatever
    the reading chunk size, so results do not depend on it. Stops after ``max_jets`` jets.
    """
    if size < 1:
        msg = f"chunk size must be at least 1 (got {size})"
        raise ValueError(msg)
    pending: list[Jets] = []
    num_pending, num_yielded = 0, 0
    for chunk in chunks:
        if max_jets is not None and num_yielded + num_pending + len(chunk) > max_jets:
            chunk = chunk.select(np.arange(max_jets - num_yielded - num_pending))
        pending.append(chunk)
        num_pending += len(chunk)
        if num_pending >= size:
            joined = Jets.concatenate(pending) if len(pending) > 1 else pending[0]
            whole = num_pending - num_pending % size
            for start in range(0, whole, size):
                yield joined.select(np.arange(start, start + size))
            num_yielded += whole
            pending = [joined.select(np.arange(whole, num_pending))] if whole < num_pending else []
            num_pending -= whole
        if max_jets is not None and num_yielded + num_pending >= max_jets:
            break
    if num_pending:
        yield Jets.concatenate(pending) if len(pending) > 1 else pending[0]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for every pair, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    segment_starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(segment_starts - starts, counts)
