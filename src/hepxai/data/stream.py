"""Jets streamed from ROOT files in a shuffled order: memory set by a buffer, not by the dataset.

Reading every jet before training holds the whole dataset (~200 GB for the 2M CMS jets of the original
training). A :class:`JetStream` reads the files in pieces of consecutive entries instead. Per epoch it
visits the pieces of all files in an order drawn from ``(seed, epoch)`` and passes their jets through a
shuffle buffer: each new piece joins the buffer, the buffer is permuted and everything beyond
``buffer_size`` jets leaves as minibatches. So a minibatch mixes jets of many pieces and files, and memory
holds the buffer and one piece. With several processes each reads every ``size``-th piece of the epoch's
order (its shard) through its own buffer.

Which jets validate is decided per jet from ``(seed, file, entry)``, not by a permutation of all jets,
so the split needs no pass over the data and holds whatever the order of reading: about
``validation_fraction`` of the jets (binomially), never the same jets as the in-memory split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import uproot

from hepxai.data.jets import Jets, rechunk
from hepxai.data.root_io import Selection, open_tree, read_entries
from hepxai.data.schema import Schema


@dataclass(frozen=True)
class Piece:
    """Entries ``start`` to ``stop`` of file number ``file`` of the stream."""

    file: int
    start: int
    stop: int


class JetStream:
    """Training and validation jets of ROOT files, read piece by piece.

    Args:
        paths: ROOT files; all are opened and checked at once.
        schema: Their schema.
        selection: Spectator window applied as :func:`~hepxai.data.root_io.iter_jets` does.
        seed: Seeds the split, the order of the pieces and the buffer's draws.
        validation_fraction: Probability of a jet to validate.
        buffer_size: Jets held for shuffling (besides the piece being read).
        piece_size: Entries read at once (default: a quarter of ``buffer_size``, so the buffer mixes at
            least four pieces, and at most a quarter of each process's share of the entries, so that
            every process gets pieces). Pieces end where the baskets of every branch end (ROOT
            decompresses whole baskets), so a piece holds at least one basket of entries; unless
            that leaves fewer than four pieces for each of several processes (files of a few huge
            baskets), whose shards would then differ much in size.

    Raises:
        InputError: a file is missing or lacks the schema's tree or branches.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        schema: Schema,
        *,
        selection: Selection | None,
        seed: int,
        validation_fraction: float,
        buffer_size: int,
        piece_size: int | None = None,
    ) -> None:
        self.paths = [Path(path) for path in paths]
        self.schema, self.selection, self.seed = schema, selection, seed
        self.validation_fraction, self.buffer_size = validation_fraction, buffer_size
        self.piece_size = piece_size
        self._trees: list[uproot.TTree] = [open_tree(path, schema) for path in self.paths]

    def pieces(self, size: int = 1) -> list[Piece]:
        """The pieces of all files, in file order, for ``size`` processes."""
        share = -(-sum(tree.num_entries for tree in self._trees) // (4 * size))
        piece_size = self.piece_size or max(1, min(self.buffer_size // 4, share))
        pieces = []
        for file, tree in enumerate(self._trees):
            ends = np.asarray(tree.common_entry_offsets(filter_name=self._branches(tree))[1:])
            start = 0
            while start < tree.num_entries:
                after = ends[ends > start]  # the last basket end within piece_size, else the first after
                within = after[after <= start + piece_size]
                stop = int(within[-1] if within.size else after[0])
                pieces.append(Piece(file, start, stop))
                start = stop
        if size > 1 and len(pieces) < 4 * size:
            return [
                Piece(file, start, min(start + piece_size, tree.num_entries))
                for file, tree in enumerate(self._trees)
                for start in range(0, tree.num_entries, piece_size)
            ]
        return pieces

    def training(self, epoch: int, batch_size: int, *, rank: int = 0, size: int = 1) -> Iterator[Jets]:
        """Shuffled minibatches of ``batch_size`` training jets of shard ``rank`` of ``size`` in
        ``epoch``; the last, smaller one only where it still holds two jets (one with several processes,
        whose batch statistics are shared)."""
        pieces = self.pieces(size)
        order = np.random.default_rng([self.seed, epoch, 1]).permutation(len(pieces))
        draws = np.random.default_rng([self.seed, epoch, 2, rank])
        buffer: Jets | None = None
        for number in order[rank::size]:
            jets = self._read(pieces[number], validation=False)
            buffer = jets if buffer is None else Jets.concatenate([buffer, jets])
            leaving = (len(buffer) - self.buffer_size) // batch_size * batch_size
            if leaving > 0:
                mixed = draws.permutation(len(buffer))
                yield from _batches(buffer.select(mixed[:leaving]), batch_size)
                buffer = buffer.select(mixed[leaving:])
        if buffer is not None and len(buffer):
            for batch in _batches(buffer.select(draws.permutation(len(buffer))), batch_size):
                if len(batch) >= (2 if size == 1 else 1):
                    yield batch

    def validation(self, batch_size: int, *, rank: int = 0, size: int = 1) -> Iterator[Jets]:
        """The validation jets of shard ``rank`` of ``size``, in file order, in batches of ``batch_size``."""
        pieces = (self._read(piece, validation=True) for piece in self.pieces(size)[rank::size])
        return rechunk((jets for jets in pieces if len(jets)), batch_size)

    def _branches(self, tree: uproot.TTree) -> list[str]:
        schema = self.schema
        wanted = (*schema.unique_features, *schema.label_branches, *schema.spectators, *schema.truth_track)
        available = set(tree.keys())
        return [name for name in (*wanted, *schema.truth_jet) if name in available]

    def _read(self, piece: Piece, *, validation: bool) -> Jets:
        jets, entries = read_entries(
            self.paths[piece.file],
            self._trees[piece.file],
            self.schema,
            start=piece.start,
            stop=piece.stop,
            selection=self.selection,
        )
        validates = uniform(self.seed, piece.file, entries) < self.validation_fraction
        return jets.select(validates if validation else ~validates)


def uniform(seed: int, file: int, entries: np.ndarray) -> np.ndarray:
    """``[len(entries)]`` numbers in [0, 1), a fixed function of ``(seed, file, entry)`` (SplitMix64)."""
    with np.errstate(over="ignore"):
        state = (
            np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
            + np.uint64(file) * np.uint64(0xD1B54A32D192ED03)
            + entries.astype(np.uint64)
        )
        for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            state = (state ^ (state >> np.uint64(shift))) * np.uint64(factor)
        state ^= state >> np.uint64(31)
    return (state >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _batches(jets: Jets, batch_size: int) -> Iterator[Jets]:
    for start in range(0, len(jets), batch_size):
        yield jets.select(np.arange(start, min(start + batch_size, len(jets))))
