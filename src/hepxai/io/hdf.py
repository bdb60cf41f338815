"""Checking an HDF5 file just written, before it is renamed into place.

HDF5 does not report a failed write: on a full disk PyTables appends and closes without an error and leaves a
file whose tables are short, missing or unreadable. The check reads back what was written: every table is
there with the rows appended, and the last row of each table (written last) reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from hepxai.errors import OutputError
from hepxai.io.atomic import unreadable_output


def hdf_check(path: str | Path, rows: Mapping[str, int | None]) -> Callable[[Path], None]:
    """A ``check`` for :func:`~hepxai.io.atomic.atomic_path`: each table of ``rows`` must be in the file,
    with that many rows (``None``: any number, for tables in PyTables' fixed format); errors name ``path``."""

    def check(temporary: Path) -> None:
        try:
            with pd.HDFStore(temporary, mode="r") as store, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for key, expected in rows.items():
                    if f"/{key}" not in store:
                        raise unreadable_output(path, f"table '{key}' is missing")
                    if expected is None:
                        store[key]
                        continue
                    stored = store.get_storer(key).nrows or 0
                    if stored != expected:
                        raise unreadable_output(path, f"table '{key}' has {stored} rows, {expected} written")
                    if stored:
                        store.select(key, start=stored - 1)
        except OutputError:
            raise
        except Exception as err:
            raise unreadable_output(path, f"it does not read back ({type(err).__name__})") from err

    return check
