"""Pile-up: minimum-bias interactions overlaid on the hard event, drawn from a library made once per run.

Generating ~30 minimum-bias events for every jet would cost more than the jet itself, so a worker makes a
library of ``LIBRARY_EVENTS`` inelastic events (Pythia ``SoftQCD:inelastic``, as ``hepxai detector
simulate``'s pile-up, with the hard sample's decay settings) once, from a seed that depends on the run's
seed alone: every worker holds the same
library, and a jet's pile-up depends on its own random stream only. Each hard event gets Poisson(mu) of
them, drawn with replacement; each is turned by a random azimuth, mirrored in z with probability 1/2 (both
symmetries of the collision) and moved to its own vertex drawn from the beam spot, so the same library
event rarely lands twice alike. Units: cm and GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pythia8mc

from hepxai.data.simulate.generation import (
    BEAM_SPOT_SIGMA_MM,
    CENTRE_OF_MASS_ENERGY,
    initialised_pythia,
    seed_setting,
)
from hepxai.data.simulate.particles import ACCEPTANCE_ETA, MM_TO_CM, NEUTRINOS

DEFAULT_MU = 30.0  # mean pile-up interactions per bunch crossing, about CMS's 2016 average (27)
LIBRARY_EVENTS = 300
LIBRARY_PROCESS = "SoftQCD:inelastic = on"  # its initialisation takes ~5 s (diffraction's tables)


@dataclass(frozen=True)
class Particles:
    """Visible final-state particles, as the hard event's (positions in the lab frame, cm)."""

    momentum: np.ndarray  # [N, 4] px, py, pz, E
    pdg_id: np.ndarray  # [N] int32
    charge: np.ndarray  # [N]
    vertex: np.ndarray  # [N, 3] production vertex
    interaction: np.ndarray  # [N] which pile-up interaction of the crossing (0, 1, ...)


@dataclass(frozen=True)
class Pileup:
    """What a hard event gets overlaid: Poisson(``mu``) interactions drawn from ``library``."""

    library: PileupLibrary
    mu: float


@dataclass(frozen=True)
class PileupLibrary:
    """Minimum-bias events, their particles concatenated; event ``e`` holds rows ``start[e]:start[e+1]``.

    Vertices are relative to the event's interaction point (cm).
    """

    momentum: np.ndarray  # [P, 4]
    pdg_id: np.ndarray  # [P]
    charge: np.ndarray  # [P]
    vertex: np.ndarray  # [P, 3]
    start: np.ndarray  # [E + 1]

    @property
    def num_events(self) -> int:
        return len(self.start) - 1


def make_library(
    seed: int, *, tau0_max: float, num_events: int | None = None, process: str | None = None
) -> PileupLibrary:
    """Generate ``num_events`` (default ``LIBRARY_EVENTS``) minimum-bias 13 TeV events (``process``, default
    ``LIBRARY_PROCESS``; visible particles, |eta| < 5, no neutrinos)."""
    num_events = num_events or LIBRARY_EVENTS
    pythia = initialised_pythia(
        [
            f"Beams:eCM = {CENTRE_OF_MASS_ENERGY}",
            process or LIBRARY_PROCESS,
            *seed_setting(seed),
            "ParticleDecays:limitTau0 = on",
            f"ParticleDecays:tau0Max = {tau0_max}",
            "Print:quiet = on",
        ],
        what="the minimum-bias library",
    )
    events: list[np.ndarray] = []
    while len(events) < num_events:
        if pythia.next():
            events.append(_visible(pythia.event))
    rows = np.concatenate(events)
    return PileupLibrary(
        momentum=rows[:, :4],
        pdg_id=rows[:, 8].astype(np.int32),
        charge=rows[:, 7],
        vertex=rows[:, 4:7] * MM_TO_CM,
        start=np.cumsum([0, *(len(event) for event in events)]),
    )


def overlay(library: PileupLibrary, mu: float, rng: np.random.Generator) -> Particles:
    """The particles of Poisson(``mu``) pile-up interactions, each turned, mirrored and moved to its own
    vertex in the beam spot."""
    count = int(rng.poisson(mu))
    chosen = rng.integers(library.num_events, size=count)
    turn = rng.uniform(-np.pi, np.pi, count)
    mirror = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    origin = rng.standard_normal((count, 3)) * np.array(BEAM_SPOT_SIGMA_MM) * MM_TO_CM
    sizes = library.start[chosen + 1] - library.start[chosen]
    interaction = np.repeat(np.arange(count), sizes)
    rows = np.repeat(library.start[chosen] - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
    turn, mirror = turn[interaction], mirror[interaction]
    return Particles(
        momentum=_transform(library.momentum[rows], turn, mirror),
        pdg_id=library.pdg_id[rows],
        charge=library.charge[rows],
        vertex=_transform(library.vertex[rows], turn, mirror) + origin[interaction],
        interaction=interaction,
    )


def _visible(event: pythia8mc.Event) -> np.ndarray:
    rows = [
        (p.px(), p.py(), p.pz(), p.e(), p.xProd(), p.yProd(), p.zProd(), p.charge(), p.id())
        for p in event
        if p.isFinal() and p.idAbs() not in NEUTRINOS and abs(p.eta()) < ACCEPTANCE_ETA
    ]
    return np.array(rows, np.float64).reshape(-1, 9)


def _transform(vectors: np.ndarray, turn: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Rotate the (x, y) of ``vectors`` [N, >= 3] by ``turn`` and multiply z by ``mirror``."""
    cos, sin = np.cos(turn), np.sin(turn)
    out = vectors.copy()
    out[:, 0] = cos * vectors[:, 0] - sin * vectors[:, 1]
    out[:, 1] = sin * vectors[:, 0] + cos * vectors[:, 1]
    out[:, 2] = mirror * vectors[:, 2]
    return out
