"""A relevance dataset as parts: a folder of ``part-00000.h5``, ``part-00001.h5``, ... and ``index.json``.

Each part is a whole relevance file (:mod:`hepxai.explain.relevance_file`: the tables ``jets``, ``tracks``,
``edges``, ``features``, ``meta``) holding the jets of one entry range of one input file; ``jet_id`` runs on
across parts, so the parts in index order are the single file of a one-process run cut into pieces. The
index says which entries each part holds and whether the run finished::

    {"format": "hepxai relevance parts", "version": 1, "complete": true, "num_jets": 2400,
     "settings": {...}, "parts": [{"name": "part-00000.h5", "file": "a.root", "entry_start": 0,
     "entry_stop": 1000, "first_jet_id": 0, "num_jets": 812}, ...]}

Any reader takes the folder as one dataset: ``hepxai plot/report --relevance FOLDER``,
``pd.concat(pd.read_hdf(p, "jets") for p in parts)``,
``dask.dataframe.read_hdf("FOLDER/part-*.h5", "tracks")``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hepxai.errors import InputError
from hepxai.io.atomic import write_text

INDEX = "index.json"
FORMAT = "hepxai relevance parts"
VERSION = 1


@dataclass(frozen=True)
class Part:
    """One part: the jets of entries ``[entry_start, entry_stop)`` of ``file``, numbered from
    ``first_jet_id``."""

    name: str  # part-NNNNN.h5, in the dataset's folder
    file: str
    entry_start: int
    entry_stop: int
    first_jet_id: int
    num_jets: int


@dataclass(frozen=True)
class PartIndex:
    """What ``index.json`` holds."""

    parts: list[Part]
    settings: dict[str, Any]  # what a resumed run must match
    complete: bool  # every part was written

    @property
    def num_jets(self) -> int:
        return sum(part.num_jets for part in self.parts)


def part_name(index: int) -> str:
    return f"part-{index:05d}.h5"


def is_part_dataset(path: str | Path) -> bool:
    """True for a folder with an ``index.json``."""
    return (Path(path) / INDEX).is_file()


def write_index(folder: str | Path, index: PartIndex) -> Path:
    """Write ``folder/index.json`` atomically."""
    record = {
        "format": FORMAT,
        "version": VERSION,
        "complete": index.complete,
        "num_jets": index.num_jets,
        "settings": index.settings,
        "parts": [asdict(part) for part in index.parts],
    }
    return write_text(Path(folder) / INDEX, json.dumps(record, indent=1) + "\n")


def read_index(folder: str | Path) -> PartIndex:
    """Read ``folder/index.json``.

    Raises:
        InputError: missing, not JSON, or not a relevance part index (the message names the field).
    """
    path = Path(folder) / INDEX
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        msg = f"{path}: index of a relevance dataset not found"
        raise InputError(msg) from err
    except (OSError, ValueError) as err:
        msg = f"{path}: not a readable JSON index ({type(err).__name__})"
        raise InputError(msg) from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        msg = f"{path}: field 'format' is not {FORMAT!r}"
        raise InputError(msg)
    if record.get("version") != VERSION:
        msg = f"{path}: field 'version' is {record.get('version')!r}, expected {VERSION}"
        raise InputError(msg)
    try:
        parts = [Part(**part) for part in record["parts"]]
        return PartIndex(parts=parts, settings=dict(record["settings"]), complete=bool(record["complete"]))
    except (KeyError, TypeError) as err:
        msg = f"{path}: field {err} is missing or malformed"
        raise InputError(msg) from err


def complete_parts(folder: str | Path) -> list[Path]:
    """The part files of a finished dataset, in ``jet_id`` order.

    Raises:
        InputError: the run did not finish, or a part is missing (the message says how to finish it).
    """
    folder = Path(folder)
    index = read_index(folder)
    missing = [part.name for part in index.parts if not (folder / part.name).is_file()]
    if not index.complete or missing:
        what = f"part {missing[0]} is missing" if missing else "the run did not finish"
        msg = f"{folder / INDEX}: {what}; finish it with `hepxai explain ... --out {folder} --resume`"
        raise InputError(msg)
    return [folder / part.name for part in index.parts]
