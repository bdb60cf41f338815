"""Dataset schemas: which tree, which track features in which order, how labels are formed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from hepxai.errors import InputError

_BUILTIN = ("cms_hbb", "sanity")
_KEYS = {"name", "tree", "max_tracks", "features", "spectators", "labels", "truth"}
_LABEL_KEYS = {"signal", "background_flag", "background"}


@dataclass(frozen=True)
class Schema:
    """What a ROOT file of jets holds and how to turn it into model inputs.

    Labels follow the CMS H->bb convention: ``y_H = sum(signal)`` and
    ``y_QCD = background_flag * sum(background)``; a jet is kept when exactly one of them is set.
    """

    name: str
    tree: str
    max_tracks: int
    features: tuple[str, ...]
    spectators: tuple[str, ...]
    signal_labels: tuple[str, ...]
    background_flag: str
    background_labels: tuple[str, ...]
    truth_track: tuple[str, ...] = ()
    truth_jet: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    @property
    def num_features(self) -> int:
        return len(self.features)

    @property
    def unique_features(self) -> tuple[str, ...]:
        """Feature branches to read: each name once, in first-appearance order."""
        return tuple(dict.fromkeys(self.features))

    @property
    def label_branches(self) -> tuple[str, ...]:
        return (*self.signal_labels, self.background_flag, *self.background_labels)

    def subset(self, names: tuple[str, ...] | list[str]) -> Schema:
        """This schema with only the track features ``names``, in that order (empty: all of them).

        A model trained on a feature subset reads its jets through this (``data.features`` of its run):
        a repeated feature name of the full schema counts once.

        Raises:
            InputError: a name that is not a feature of this schema, or a name given twice.
        """
        if not names:
            return self
        unknown = [name for name in names if name not in self.features]
        if unknown:
            msg = (
                f"{self.source or self.name}: field 'features' has no '{unknown[0]}' "
                f"(valid: {', '.join(self.unique_features)})"
            )
            raise InputError(msg)
        if len(set(names)) != len(names):
            twice = next(name for name in names if list(names).count(name) > 1)
            msg = f"feature subset names '{twice}' twice"
            raise InputError(msg)
        return replace(self, features=tuple(names))

    def display_names(self) -> list[str]:
        """Feature names for plots: a repeated name gets its occurrence appended (``track_pt (2)``)."""
        seen: dict[str, int] = {}
        names = []
        for name in self.features:
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        return names


def load_schema(name_or_path: str | Path) -> Schema:
    """Load a built-in schema (``cms_hbb``, ``sanity``) or a YAML file.

    Raises:
        InputError: the file is missing, or a key is unknown, missing or of the wrong type.
    """
    if str(name_or_path) in _BUILTIN:
        source = f"schema '{name_or_path}'"
        text = resources.files("hepxai.data.schemas").joinpath(f"{name_or_path}.yml").read_text()
    else:
        path = Path(name_or_path)
        if not path.is_file():
            msg = f"{path}: schema file not found (built-in schemas: {', '.join(_BUILTIN)})"
            raise InputError(msg)
        source, text = str(path), path.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        msg = f"{source}: not valid YAML ({err.__class__.__name__})"
        raise InputError(msg) from err
    return _parse(raw, source)


def _parse(raw: object, source: str) -> Schema:
    if not isinstance(raw, dict):
        msg = f"{source}: expected a mapping at the top level"
        raise InputError(msg)
    unknown = set(raw) - _KEYS
    if unknown:
        msg = f"{source}: unknown key '{sorted(unknown)[0]}' (valid: {', '.join(sorted(_KEYS))})"
        raise InputError(msg)
    missing = {"tree", "max_tracks", "features", "labels"} - set(raw)
    if missing:
        msg = f"{source}: missing key '{sorted(missing)[0]}'"
        raise InputError(msg)
    labels = raw["labels"]
    if not isinstance(labels, dict) or set(labels) != _LABEL_KEYS:
        msg = f"{source}: 'labels' needs exactly the keys {', '.join(sorted(_LABEL_KEYS))}"
        raise InputError(msg)
    truth = raw.get("truth") or {}
    features = _names(raw["features"], "features", source)
    if not features:
        msg = f"{source}: 'features' is empty"
        raise InputError(msg)
    max_tracks = raw["max_tracks"]
    if not isinstance(max_tracks, int) or max_tracks < 1:
        msg = f"{source}: 'max_tracks' must be a positive integer (got {max_tracks!r})"
        raise InputError(msg)
    return Schema(
        name=str(raw.get("name", Path(source).stem)),
        tree=str(raw["tree"]),
        max_tracks=max_tracks,
        features=features,
        spectators=_names(raw.get("spectators") or [], "spectators", source),
        signal_labels=_names(labels["signal"], "labels.signal", source),
        background_flag=str(labels["background_flag"]),
        background_labels=_names(labels["background"], "labels.background", source),
        truth_track=_names(truth.get("track") or [], "truth.track", source),
        truth_jet=_names(truth.get("jet") or [], "truth.jet", source),
        source=source,
    )


def _names(value: object, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{source}: '{key}' must be a list of branch names"
        raise InputError(msg)
    return tuple(value)
