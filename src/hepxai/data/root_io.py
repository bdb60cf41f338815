"""Reading jets from ROOT files in a schema, in chunks and vectorized, and writing TTrees atomically."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import awkward as ak
import numpy as np
import uproot
from tqdm.auto import tqdm

from hepxai.data.jets import Jets
from hepxai.data.schema import Schema
from hepxai.errors import InputError
from hepxai.io.atomic import AtomicPath

log = logging.getLogger(__name__)

Selection = Mapping[str, tuple[float, float]]
ORIGINAL_SELECTION: dict[str, tuple[float, float]] = {"fj_sdmass": (40.0, 200.0), "fj_pt": (300.0, 2000.0)}
"""The window the original HIN training used (GeV), open at both ends."""
STREAM_CHUNK_SIZE = 10_000
"""Entries read at once by the commands that stream a dataset (explain, evaluate, benchmark): with their
batch size it bounds their memory, whatever the number of jets."""
SELECTIONS = ("model", "auto", "original", "none")
"""Selection names: ``model`` (the one the model was trained with), ``auto`` (``original`` where the schema
has its spectators, else ``none``), ``original`` (:data:`ORIGINAL_SELECTION`) or ``none``."""


def resolve_selection(selection: str, schema: Schema, *, trained: str | None = None) -> str:
    """``original`` or ``none``: the selection named ``selection`` (one of :data:`SELECTIONS`).

    Args:
        selection: The requested name.
        schema: The data's schema, for ``auto``.
        trained: The model's training selection, for ``model``; ``None`` (a checkpoint that does not
            store one, such as the original HIN) falls back to ``auto``, as ``hepxai train`` resolves it.
    """
    if selection not in SELECTIONS:
        msg = f"unknown selection '{selection}' (valid: {', '.join(SELECTIONS)})"
        raise InputError(msg)
    if selection == "model" and trained is not None:
        selection = trained
    if selection in ("model", "auto"):
        return "original" if set(ORIGINAL_SELECTION) <= set(schema.spectators) else "none"
    return selection


def selection_window(selection: str) -> Selection | None:
    """The spectator window of a resolved selection (``original`` or ``none``)."""
    return ORIGINAL_SELECTION if selection == "original" else None


def describe_selection(selection: str) -> str:
    """E.g. ``"40 < fj_sdmass < 200, 300 < fj_pt < 2000"``; ``"none"`` for no window."""
    window = selection_window(selection)
    if not window:
        return "none"
    return ", ".join(f"{low:g} < {name} < {high:g}" for name, (low, high) in window.items())


def read_jets(
    paths: Sequence[str | Path] | str | Path,
    schema: Schema,
    *,
    selection: Selection | None = None,
    max_jets: int | None = None,
    chunk_size: int = 50_000,
    progress: bool = True,
) -> Jets:
    """Read every jet of ``paths`` that passes the labels and ``selection`` into one :class:`Jets`.

    Raises:
        InputError: a file, tree or branch is missing or malformed, or no jet passes.
    """
    parts, total = [], 0
    for jets in iter_jets(paths, schema, selection=selection, chunk_size=chunk_size, progress=progress):
        parts.append(jets)
        total += len(jets)
        if max_jets is not None and total >= max_jets:
            break
    if total == 0:
        msg = f"{_describe(paths)}: no jet passed the labels and selection"
        raise InputError(msg)
    jets = Jets.concatenate(parts)
    return jets.select(np.arange(max_jets)) if max_jets is not None and len(jets) > max_jets else jets


def iter_jets(
    paths: Sequence[str | Path] | str | Path,
    schema: Schema,
    *,
    selection: Selection | None = None,
    chunk_size: int = 50_000,
    progress: bool = True,
) -> Iterator[Jets]:
    """Yield the jets of ``paths`` chunk by chunk, with a progress bar over all entries.

    Each chunk keeps jets that are exactly one of H or QCD, have at least one track and pass
    ``selection`` (``{spectator: (low, high)}``, exclusive). Tracks beyond ``schema.max_tracks`` are cut.
    Jets with one track are kept: their graph has no edges. Every file is validated before any is read.
    """
    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not paths:
        msg = "no input files given"
        raise InputError(msg)
    for name in selection or {}:
        if name not in schema.spectators:
            msg = f"selection on '{name}': not a spectator of schema '{schema.name}' ({schema.spectators})"
            raise InputError(msg)
    trees = [(path, *_open_tree(path, schema)) for path in paths]
    total = sum(tree.num_entries for _, tree, _ in trees)
    with tqdm(total=total, unit="jet", desc="reading", disable=not progress, leave=False) as bar:
        for path, tree, truth in trees:
            for chunk, report in _iterate(path, tree, schema, truth, chunk_size):
                bar.update(report.tree_entry_stop - report.tree_entry_start)
                jets, keep = _to_jets(chunk, path, schema, truth, selection, report.tree_entry_start)
                if keep.any():
                    yield jets if keep.all() else jets.select(keep)


def read_entries(
    path: str | Path,
    tree: uproot.TTree,
    schema: Schema,
    *,
    start: int,
    stop: int,
    selection: Selection | None = None,
) -> tuple[Jets, np.ndarray]:
    """The jets of entries ``start`` to ``stop`` of ``tree`` (from :func:`open_tree`) that pass the labels
    and ``selection``, as :func:`iter_jets` keeps them, and ``[num_jets]`` their entry numbers.

    Raises:
        InputError: the entries cannot be read, or hold malformed values.
    """
    path = Path(path)
    truth = tuple(b for b in (*schema.truth_track, *schema.truth_jet) if b in set(tree.keys()))
    branches = [*schema.unique_features, *schema.label_branches, *schema.spectators, *truth]
    try:
        chunk = tree.arrays(branches, entry_start=start, entry_stop=stop, library="ak")
    except Exception as err:  # truncated or corrupt baskets surface as many exception types
        msg = f"{path}: could not read tree '{schema.tree}' ({_first_line(err)})"
        raise InputError(msg) from err
    jets, keep = _to_jets(chunk, path, schema, truth, selection, start)
    return jets.select(keep), start + np.flatnonzero(keep)


def iter_jet_range(
    path: str | Path,
    schema: Schema,
    entries: tuple[int, int],
    *,
    selection: Selection | None = None,
    chunk_size: int = 50_000,
) -> Iterator[Jets]:
    """The jets of the tree entries ``[start, stop)`` of one file, as :func:`iter_jets` yields them: the
    jets of a file are those of its entry ranges one after the other."""
    path = Path(path)
    tree, truth = _open_tree(path, schema)
    for chunk, report in _iterate(path, tree, schema, truth, chunk_size, entries):
        jets, keep = _to_jets(chunk, path, schema, truth, selection, report.tree_entry_start)
        if keep.any():
            yield jets if keep.all() else jets.select(keep)


def count_jets(
    path: str | Path,
    schema: Schema,
    entries: tuple[int, int],
    *,
    selection: Selection | None = None,
    chunk_size: int = 200_000,
) -> int:
    """How many jets :func:`iter_jet_range` yields for these entries, reading only the labels, the
    spectators and one feature's track counts."""
    return len(kept_jets(path, schema, entries, selection=selection, chunk_size=chunk_size)[0])


def kept_jets(
    path: str | Path,
    schema: Schema,
    entries: tuple[int, int],
    *,
    selection: Selection | None = None,
    chunk_size: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """``[num_jets]`` the track counts and the signal flags of the jets :func:`iter_jet_range` yields for
    these entries, reading only the labels, the spectators and one feature's track counts."""
    path = Path(path)
    tree, truth = _open_tree(path, schema)
    reference = schema.unique_features[0]
    branches = [reference, *schema.label_branches, *schema.spectators]
    counts, signal = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=bool)]
    for chunk, _ in _iterate(path, tree, schema, truth, chunk_size, entries, branches):
        num_tracks = np.minimum(ak.to_numpy(ak.num(chunk[reference], axis=1)), schema.max_tracks)
        is_signal, keep = _keep(chunk, schema, selection, num_tracks)
        counts.append(num_tracks[keep].astype(np.int64))
        signal.append(is_signal[keep])
    return np.concatenate(counts), np.concatenate(signal)


def has_branch(path: str | Path, schema: Schema, branch: str) -> bool:
    """Whether the schema's tree in ``path`` has ``branch`` (after the checks of :func:`open_tree`)."""
    return branch in set(_open_tree(Path(path), schema)[0].keys())


def num_entries(path: str | Path, schema: Schema) -> int:
    """Entries of the schema's tree in ``path``, after the checks of :func:`open_tree`."""
    return int(_open_tree(Path(path), schema)[0].num_entries)


def open_tree(path: str | Path, schema: Schema) -> uproot.TTree:
    """The schema's tree in ``path``, after checking every branch the schema needs.

    Raises:
        InputError: missing or unreadable file, missing tree or branch, or a branch of the wrong shape.
    """
    return _open_tree(Path(path), schema)[0]


def _open_tree(path: Path, schema: Schema) -> tuple[uproot.TTree, tuple[str, ...]]:
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    try:
        file = uproot.open(path)
    except Exception as err:  # uproot raises many types for non-ROOT and truncated files
        msg = f"{path}: not a readable ROOT file ({_first_line(err)})"
        raise InputError(msg) from err
    try:
        tree = file[schema.tree]
    except Exception as err:
        trees = [k.split(";")[0] for k, c in file.classnames().items() if c == "TTree"]
        msg = f"{path}: no tree '{schema.tree}' (trees in file: {', '.join(trees) or 'none'})"
        raise InputError(msg) from err
    if not isinstance(tree, uproot.TTree):
        msg = f"{path}: '{schema.tree}' is a {type(tree).__name__}, not a TTree"
        raise InputError(msg)
    available = set(tree.keys())
    for branch in (*schema.unique_features, *schema.label_branches, *schema.spectators):
        if branch not in available:
            close = difflib.get_close_matches(branch, available, n=1)
            hint = f" (closest: '{close[0]}')" if close else ""
            msg = f"{path}: branch '{branch}' not found in tree '{schema.tree}'{hint}"
            raise InputError(msg)
    truth = tuple(b for b in (*schema.truth_track, *schema.truth_jet) if b in available)
    for branch in (*schema.unique_features, *(b for b in truth if b in schema.truth_track)):
        _expect_shape(tree, branch, jagged=True, path=path)
    for branch in (*schema.label_branches, *schema.spectators, *(b for b in truth if b in schema.truth_jet)):
        _expect_shape(tree, branch, jagged=False, path=path)
    if tree.num_entries == 0:
        msg = f"{path}: tree '{schema.tree}' has no entries"
        raise InputError(msg)
    return tree, truth


def _expect_shape(tree: uproot.TTree, branch: str, *, jagged: bool, path: Path) -> None:
    is_jagged = isinstance(tree[branch].interpretation, uproot.interpretation.jagged.AsJagged)
    if is_jagged != jagged:
        expected = "one value per track (jagged)" if jagged else "one value per jet (flat)"
        got = "jagged" if is_jagged else "flat"
        msg = f"{path}: branch '{branch}' is {got}, expected {expected}"
        raise InputError(msg)


def _iterate(
    path: Path,
    tree: uproot.TTree,
    schema: Schema,
    truth: tuple[str, ...],
    chunk_size: int,
    entries: tuple[int, int] | None = None,
    branches: Sequence[str] | None = None,
) -> Iterator[tuple[ak.Array, object]]:
    if branches is None:
        branches = [*schema.unique_features, *schema.label_branches, *schema.spectators, *truth]
    start, stop = entries or (None, None)
    iterator = tree.iterate(
        branches, step_size=chunk_size, library="ak", report=True, entry_start=start, entry_stop=stop
    )
    while True:
        try:
            chunk, report = next(iterator)
        except StopIteration:
            return
        except Exception as err:  # truncated or corrupt baskets surface as many exception types
            msg = f"{path}: could not read tree '{schema.tree}' ({_first_line(err)})"
            raise InputError(msg) from err
        yield chunk, report


def _to_jets(
    chunk: ak.Array,
    path: Path,
    schema: Schema,
    truth: tuple[str, ...],
    selection: Selection | None,
    first_entry: int,
) -> tuple[Jets, np.ndarray]:
    """All jets of ``chunk`` and the ``[num_jets]`` mask of those to keep (labels, tracks, selection)."""
    reference = schema.unique_features[0]
    num_tracks = ak.to_numpy(ak.num(chunk[reference], axis=1)).astype(np.int64)
    cut = min(int(num_tracks.max(initial=0)), schema.max_tracks)
    columns: dict[str, np.ndarray] = {}
    for branch in schema.unique_features:
        values = chunk[branch]
        if not np.array_equal(ak.to_numpy(ak.num(values, axis=1)), num_tracks):
            msg = f"{path}: branch '{branch}' has a different number of tracks per jet than '{reference}'"
            raise InputError(msg)
        columns[branch] = _flatten(values, cut)
        bad = ~np.isfinite(columns[branch])
        if bad.any():
            # the flattened tracks are the first `cut` of each jet: the jet (file entry) of the first bad one
            jet = int(np.searchsorted(np.cumsum(np.minimum(num_tracks, cut)), np.argmax(bad), side="right"))
            msg = (
                f"{path}: branch '{branch}' has {int(bad.sum())} NaN/inf values "
                f"(first in jet {first_entry + jet})"
            )
            raise InputError(msg)
    num_tracks = np.minimum(num_tracks, schema.max_tracks)
    features = np.stack([columns[name] for name in schema.features], axis=1).astype(np.float32, copy=False)

    def flat(name: str) -> np.ndarray:
        return ak.to_numpy(chunk[name])

    is_signal, keep = _keep(chunk, schema, selection, num_tracks)
    spectators = {name: flat(name).astype(np.float32) for name in schema.spectators}
    jets = Jets(
        features=features,
        num_tracks=num_tracks,
        label=is_signal.astype(np.int64),
        feature_names=schema.features,
        spectators=spectators,
        track_truth={b: _flatten(chunk[b], cut) for b in truth if b in schema.truth_track},
        jet_truth={b: flat(b) for b in truth if b in schema.truth_jet},
    )
    return jets, keep


def _keep(
    chunk: ak.Array, schema: Schema, selection: Selection | None, num_tracks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each entry is signal, and whether it is kept: exactly one of H or QCD, at least one track,
    inside ``selection``."""

    def flat(name: str) -> np.ndarray:
        return ak.to_numpy(chunk[name])

    is_signal = sum(flat(b).astype(np.float64) for b in schema.signal_labels) > 0
    is_background = (
        flat(schema.background_flag) * sum(flat(b).astype(np.float64) for b in schema.background_labels) > 0
    )
    keep = (is_signal != is_background) & (num_tracks > 0)
    for name, (low, high) in (selection or {}).items():
        spectator = flat(name).astype(np.float32)
        keep &= (spectator > low) & (spectator < high)
    return is_signal, keep


def _flatten(values: ak.Array, cut: int) -> np.ndarray:
    if cut < int(ak.max(ak.num(values, axis=1), initial=0)):
        values = values[:, :cut]
    return ak.to_numpy(ak.flatten(values, axis=1))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _describe(paths: Sequence[str | Path] | str | Path) -> str:
    if isinstance(paths, str | Path):
        return str(paths)
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} files"


class TreeWriter:
    """Writes a zlib-compressed TTree chunk by chunk to a temporary file, renamed to ``path`` on success.

    An interrupted or failed write leaves no file that looks complete. Jagged branches (awkward arrays
    with one list per jet) share the counter branch ``n_tracks``.

    Example::

        with TreeWriter("jets.root", "deepntuplizer/tree") as writer:
            writer.extend({"track_pt": jagged_pt, "fj_pt": fj_pt})
    """

    def __init__(self, path: str | Path, tree_name: str, *, compression_level: int = 4) -> None:
        self.path = Path(path)
        self.tree_name = tree_name
        self._output = AtomicPath(self.path)
        self._compression = uproot.ZLIB(compression_level)
        self._file: uproot.WritableDirectory | None = None
        self._tree = None
        self.num_entries = 0

    def __enter__(self) -> TreeWriter:
        temporary = self._output.__enter__()
        try:
            self._file = uproot.recreate(temporary, compression=self._compression)
        except BaseException as err:
            self.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def extend(self, branches: Mapping[str, np.ndarray | ak.Array]) -> None:
        """Append one chunk of jets; every call must give the same branches."""
        if self._file is None:
            msg = "TreeWriter.extend called outside its `with` block"
            raise RuntimeError(msg)
        if self._tree is None:
            if "/" in self.tree_name:
                self._file.mkdir(self.tree_name.rsplit("/", 1)[0])
            types = {name: _branch_type(values) for name, values in branches.items()}
            self._tree = self._file.mktree(self.tree_name, types, counter_name=lambda _: "n_tracks")
        self._tree.extend(dict(branches))
        self.num_entries += len(next(iter(branches.values())))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._file is not None:
                self._file.close()
                self._file = None
        except BaseException as err:
            self._output.__exit__(type(err), err, err.__traceback__)
            raise
        if exc is None and self._tree is None:
            self._output.discard()  # nothing was written
            return
        self._output.__exit__(exc_type, exc, tb)  # commits or discards


def _branch_type(values: np.ndarray | ak.Array) -> str | np.dtype:
    if isinstance(values, ak.Array):
        return f"var * {ak.flatten(values, axis=1).layout.dtype}"
    return np.asarray(values).dtype
