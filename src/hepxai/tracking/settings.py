"""Named tracking settings: which detector events, which particles are kept, and the event splits.

A setting is the detector run that makes its events (a *sample*, shared by settings that differ only in
their cuts) plus the cuts applied when events become graphs. Event ``i`` of a sample depends only on the
sample's seed and ``i`` (see :mod:`hepxai.data.detector.driver`), so the splits are disjoint index ranges of
one run.

``pt1_mu200`` is the slides' "TrackML 1 GeV" sample made by our detector: a tt̄ event with Poisson(200)
soft-QCD pile-up in a 2 T field, multiple scattering on (the detector's default), hit efficiency 0.99,
about 33 noise hits; particles below pT 1 GeV and their hits removed. ``pt05_mu200`` is the harder setting
on the same events: particles down to pT 0.5 GeV kept (more hits, more and curlier tracks).

A *custom* setting (:func:`sized_setting`) is a named one with another number of events or pile-up, for a
run that fits a laptop; its name says its size (``pt1_mu20_n20``). Nothing but the name reaches the files
of a named setting; a custom one is written out in full: ``ROOT/SETTING/setting.yaml`` (by ``events`` and
``graphs``) and the ``custom_setting`` field of every graph folder's ``graphs.yaml``, so every later command
(train, evaluate, display, explain, truth-cc) reads it from there (:func:`setting_from_record`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from hepxai.errors import InputError
from hepxai.io.atomic import write_text
from hepxai.io.yaml_files import read_yaml

SPLITS = ("train", "valid", "test")
SETTING_FILE = "setting.yaml"
"""A custom setting's fields, ``ROOT/SETTING/setting.yaml``."""
MIN_EVENTS = 3
"""A custom setting needs an event in each split."""
PT_EDGES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0)  # GeV
"""Bin edges of the efficiency against pT; a setting's bins start at its ``pt_min`` (``Setting.pt_edges``)."""
ETA_EDGES = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
"""Bin edges of the efficiency against η."""


@dataclass(frozen=True)
class Sample:
    """A detector run (``hepxai detector simulate``) of ``events`` events; its own folder under the root."""

    name: str
    process: str = "ttbar"
    pileup: float = 200.0
    bfield: float = 2.0  # T
    scattering: bool = True
    efficiency: float = 0.99
    noise: float = 0.002  # mean noise hits per module
    seed: int = 15
    events: int = 200


@dataclass(frozen=True)
class Setting:
    """A sample with its cuts and splits.

    ``pt_min`` removes particles below it and their hits; noise hits (``particle_id`` 0) are kept when
    ``keep_noise``: nothing without truth could remove them, and they are rare (about 0.3% of the hits of
    ``pt1_mu200``). A particle is *reconstructable* with more than ``min_hits`` hits and pT above
    ``pt_min`` (the slides: more than 5 hits, pT > 1 GeV).
    """

    name: str
    sample: Sample
    pt_min: float  # GeV
    keep_noise: bool = True
    min_hits: int = 5
    train: range = range(0, 100)
    valid: range = range(100, 150)
    test: range = range(150, 200)

    def split(self, name: str) -> range:
        """The event ids of split ``name`` (train, valid or test)."""
        if name not in SPLITS:
            msg = f"setting {self.name}: field 'split' is {name!r}, expected one of {', '.join(SPLITS)}"
            raise InputError(msg)
        return getattr(self, name)

    @property
    def pt_edges(self) -> tuple[float, ...]:
        """pT bin edges (GeV) of the efficiency: from ``pt_min`` on, so every reconstructable particle up to
        the last edge falls in a bin."""
        return (self.pt_min, *(edge for edge in PT_EDGES if edge > self.pt_min))

    def events_folder(self, root: str | Path) -> Path:
        """Where the sample's detector events live: ``ROOT/samples/SAMPLE``."""
        return Path(root) / "samples" / self.sample.name

    def folder(self, root: str | Path) -> Path:
        """The setting's own folder, ``ROOT/SETTING`` (graphs, module map, embedding, results)."""
        return Path(root) / self.name


TTBAR_MU200 = Sample(name="ttbar_mu200")

SETTINGS = {
    setting.name: setting
    for setting in (
        Setting(name="pt1_mu200", sample=TTBAR_MU200, pt_min=1.0),
        Setting(name="pt05_mu200", sample=TTBAR_MU200, pt_min=0.5),
    )
}


def get_setting(name: str) -> Setting:
    """The named setting called ``name``.

    Raises:
        InputError: no such setting.
    """
    if name not in SETTINGS:
        msg = f"field 'setting' is {name!r}, expected one of {', '.join(SETTINGS)}"
        raise InputError(msg)
    return SETTINGS[name]


def find_setting(name: str, root: str | Path) -> Setting:
    """The named setting ``name``, or the custom setting ``name`` made under ``root`` (its
    ``ROOT/NAME/setting.yaml``).

    Raises:
        InputError: neither, or a ``setting.yaml`` that does not describe a setting.
    """
    path = Path(root) / name / SETTING_FILE
    if name in SETTINGS or not path.is_file():
        try:
            return get_setting(name)
        except InputError as err:
            msg = f"{err}, or a custom setting ({path} is not there: make it with --events/--pileup)"
            raise InputError(msg) from err
    return setting_from_record(read_yaml(path), path, "")


def resolve_setting(
    name: str, root: str | Path, *, events: int | None = None, pileup: float | None = None
) -> Setting:
    """The setting the options ``--setting``, ``--events`` and ``--pileup`` of ``events`` and ``graphs`` ask
    for: :func:`find_setting`, resized by :func:`sized_setting`."""
    return sized_setting(find_setting(name, root), events=events, pileup=pileup)


def is_named(setting: Setting) -> bool:
    """Whether ``setting`` is one of :data:`SETTINGS` (else a custom one, written out in full)."""
    return SETTINGS.get(setting.name) == setting


def claim_setting(setting: Setting, root: str | Path) -> None:
    """Write a custom setting to ``ROOT/SETTING/setting.yaml``, or check it against the one there.

    Raises:
        InputError: the file there describes another setting of that name (names the first field that
            differs).
    """
    if is_named(setting):
        return
    path = setting.folder(root) / SETTING_FILE
    wanted = setting_record(setting)
    if not path.is_file():
        write_text(path, yaml.safe_dump(wanted, sort_keys=False))
        return
    earlier = setting_record(setting_from_record(read_yaml(path), path, ""))
    for key, value in wanted.items():
        if earlier[key] != value:
            msg = (
                f"{path}: field '{key}' is {earlier[key]!r}, this run asks for {value!r}; use another --root"
            )
            raise InputError(msg)


def sized_setting(base: Setting, *, events: int | None = None, pileup: float | None = None) -> Setting:
    """``base`` with ``events`` events of pile-up ``pileup`` (``base``'s where ``None``); ``base`` itself when
    both are its own.

    The detector, seed and cuts stay; the splits are the first half of the events (train), a quarter
    (valid) and the rest (test), as the named settings' 100/50/50. Event ``i`` depends only on the seed and
    ``i``, so a custom sample's events are those of any larger one with the same pile-up.

    Raises:
        InputError: fewer than :data:`MIN_EVENTS` events, or a negative pile-up.
    """
    events = base.sample.events if events is None else events
    pileup = base.sample.pileup if pileup is None else float(pileup)
    if events < MIN_EVENTS:
        msg = f"field 'events' is {events}, expected at least {MIN_EVENTS} (an event in each split)"
        raise InputError(msg)
    if pileup < 0:
        msg = f"field 'pileup' is {pileup:g}, expected at least 0"
        raise InputError(msg)
    if (events, pileup) == (base.sample.events, base.sample.pileup):
        return base
    size = f"mu{pileup:g}_n{events}"
    sample = replace(base.sample, name=f"{base.sample.process}_{size}", events=events, pileup=pileup)
    train = events // 2
    valid = train + (events - train) // 2
    return replace(
        base,
        name=f"pt{base.pt_min:g}".replace(".", "") + f"_{size}",
        sample=sample,
        train=range(0, train),
        valid=range(train, valid),
        test=range(valid, events),
    )


def setting_record(setting: Setting) -> dict[str, Any]:
    """The setting's fields as YAML writes them (splits as ``[start, stop]``)."""
    record = asdict(setting)
    for split in SPLITS:
        record[split] = [getattr(setting, split).start, getattr(setting, split).stop]
    return record


def setting_from_record(record: object, path: str | Path, field: str = "custom_setting") -> Setting:
    """The setting a record of :func:`setting_record` describes, every field checked.

    Args:
        record: The mapping read from the file ``path``, where it is the field ``field``.

    Raises:
        InputError: a field is missing, unknown or of the wrong type, or a split is outside the sample;
            the message names the file and the field (``graphs.yaml: field 'custom_setting.sample.pileup'``).
    """
    record = _fields(Setting, record, path, field)
    sample = Sample(**_fields(Sample, record["sample"], path, _join(field, "sample")))
    for split in SPLITS:
        bounds = record[split]
        if not (
            len(bounds) == 2 and all(map(_is_int, bounds)) and 0 <= bounds[0] < bounds[1] <= sample.events
        ):
            msg = (
                f"{path}: field '{_join(field, split)}' is {bounds!r}, expected [start, stop] with "
                f"0 <= start < stop <= {sample.events} (the sample's events)"
            )
            raise InputError(msg)
        record[split] = range(*bounds)
    return Setting(**{**record, "sample": sample})


_TYPES = {
    "str": ((str,), "a string"),
    "float": ((int, float), "a number"),
    "int": ((int,), "an integer"),
    "bool": ((bool,), "true or false"),
    "range": ((list,), "[start, stop]"),
    "Sample": ((dict,), "a mapping of fields"),
}
"""The YAML types that hold each annotated field type of a Setting or a Sample, and their name."""


def _fields(kind: type, record: object, path: str | Path, field: str) -> dict[str, Any]:
    """``record``'s value of every field of the dataclass ``kind``, each of a YAML type for its annotation."""
    if not isinstance(record, dict):
        where = f"field '{field}' is {record!r}" if field else f"holds {record!r}"
        msg = f"{path}: {where}, expected a mapping of fields"
        raise InputError(msg)
    names = [item.name for item in fields(kind)]
    for name in record:
        if name not in names:
            msg = f"{path}: field '{_join(field, name)}' is unknown (valid: {', '.join(names)})"
            raise InputError(msg)
    values = {}
    for item in fields(kind):
        if item.name not in record:
            msg = f"{path}: field '{_join(field, item.name)}' is missing"
            raise InputError(msg)
        value, (allowed, expected) = record[item.name], _TYPES[str(item.type)]
        if not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool)):
            msg = f"{path}: field '{_join(field, item.name)}' is {value!r}, expected {expected}"
            raise InputError(msg)
        values[item.name] = value
    return values


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name
