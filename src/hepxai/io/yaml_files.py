"""Reading the YAML files that runs and datasets write beside their outputs (``graphs.yaml`` ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hepxai.errors import InputError


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping stored in the YAML file ``path``; an empty file is an empty mapping.

    Raises:
        InputError: the file is missing, not text, not YAML, or holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    try:
        content = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        msg = f"{path}: not a text file (byte {err.start} is not UTF-8)"
        raise InputError(msg) from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" on line {where.line + 1}" if where is not None else ""
        msg = f"{path}: not valid YAML{line} ({getattr(err, 'problem', None) or type(err).__name__})"
        raise InputError(msg) from err
    if content is None:
        return {}
    if not isinstance(content, dict):
        msg = f"{path}: expected a mapping of fields, got a {type(content).__name__}"
        raise InputError(msg)
    return content
