"""Reading CSV tables (TrackML events, results tables): unreadable files and missing columns in one line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from hepxai.errors import InputError


def read_csv_table(path: str | Path, columns: Iterable[str] = ()) -> pd.DataFrame:
    """The CSV file ``path``, which must have ``columns``.

    Raises:
        InputError: the file is not text, is empty (no header line), is not CSV, or lacks a column.
    """
    try:
        table = pd.read_csv(path)
    except UnicodeDecodeError as err:
        msg = f"{path}: not a CSV text file (byte {err.start} is not UTF-8)"
        raise InputError(msg) from err
    except pd.errors.EmptyDataError as err:
        msg = f"{path}: empty file (no header line)"
        raise InputError(msg) from err
    except pd.errors.ParserError as err:
        msg = f"{path}: not a valid CSV file ({str(err).strip().splitlines()[0]})"
        raise InputError(msg) from err
    check_columns(table, columns, path)
    return table


def check_columns(table: pd.DataFrame, columns: Iterable[str], source: str | Path) -> pd.DataFrame:
    """``table``, which must have ``columns``; one line naming ``source`` and the first missing one."""
    missing = [name for name in columns if name not in table.columns]
    if missing:
        msg = f"{source}: field '{missing[0]}' (column) is missing"
        raise InputError(msg)
    return table
