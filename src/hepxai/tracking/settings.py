"""Named tracking settings: which detector events, which particles are kept, and the event splits.

A setting is the detector run that makes its events (a *sample*, shared by settings that differ only in
their cuts) plus the cuts applied when events become graphs. Event ``i`` of a sample depends only on the
sample's seed and ``i`` (see :mod:`hepxai.data.detector.driver`), so the splits are disjoint index ranges of
one run.

``pt1_mu200`` is the slides' "TrackML 1 GeV" sample made by our detector: a tt̄ event with Poisson(200)
soft-QCD pile-up in a 2 T field, multiple scattering on (the detector's default), hit efficiency 0.99,
about 33 noise hits; particles below pT 1 GeV and their hits removed. ``pt05_mu200`` is the harder setting
on the same events: particles down to pT 0.5 GeV kept (more hits, more and curlier tracks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hepxai.errors import InputError

SPLITS = ("train", "valid", "test")
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
    """The setting called ``name``.

    Raises:
        InputError: no such setting.
    """
    if name not in SETTINGS:
        msg = f"field 'setting' is {name!r}, expected one of {', '.join(SETTINGS)}"
        raise InputError(msg)
    return SETTINGS[name]
