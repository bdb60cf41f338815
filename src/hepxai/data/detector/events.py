"""Collision events for the tracker: one hard process plus Poisson(mu) soft-QCD pile-up, from Pythia 8.

Every event has its own seeds, derived from the run's seed and the event's index, so an event is the same
whichever worker makes it and whatever came before: each Pythia instance is initialised once per worker
(soft QCD takes seconds) and re-seeded per event with ``Rndm::init``, which restarts its random stream without
a new initialisation. The interactions sit at independent points of the luminous region (Gaussian, sigma_z
50 mm); Pythia's own vertex spread is off, its decay vertices are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pythia8mc

from hepxai.data.simulate.generation import initialised_pythia
from hepxai.errors import InputError

Process = Literal["zmumu", "ttbar", "minbias"]
PROCESSES: tuple[str, ...] = get_args(Process)
CENTRE_OF_MASS_ENERGY = 14_000.0  # GeV, the HL-LHC of the TrackML challenge
LUMINOUS_REGION_SIGMA_MM = (0.015, 0.015, 50.0)  # x, y, z
Z_ID, MUON_ID = 23, 13
_MAX_PYTHIA_SEED = 900_000_000
_MAX_TRIES = 100  # Pythia may fail an event; it retries with the next random numbers

_HARD_SETTINGS: dict[str, tuple[str, ...]] = {
    "zmumu": (
        "WeakSingleBoson:ffbar2gmZ = on",
        "WeakZ0:gmZmode = 2",  # the Z alone, no photon interference
        "23:onMode = off",
        "23:onIfAny = 13",
    ),
    "ttbar": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on"),
    "minbias": ("SoftQCD:inelastic = on",),
}
_PILEUP_SETTINGS = ("SoftQCD:inelastic = on",)


@dataclass(frozen=True)
class GeneratedParticles:
    """Charged final-state particles of all interactions of one event. Positions in mm, momenta in GeV."""

    vertex: np.ndarray  # [N, 3] production point, luminous-region offset included
    momentum: np.ndarray  # [N, 3]
    charge: np.ndarray  # [N]
    mass: np.ndarray  # [N]
    pdg_id: np.ndarray  # [N]
    interaction: np.ndarray  # [N] 0 for the hard process, 1..n for the pile-up interactions
    from_z: np.ndarray  # [N] bool, descends from the hard process's Z boson

    @classmethod
    def concatenate(cls, parts: list[GeneratedParticles]) -> GeneratedParticles:
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls.__dataclass_fields__))


def check_process(process: str) -> Process:
    """``process`` if it is known; else an :class:`InputError`."""
    if process not in PROCESSES:
        msg = f"detector simulate: field 'process' is {process!r}, expected one of {', '.join(PROCESSES)}"
        raise InputError(msg)
    return process  # type: ignore[return-value]


def event_seeds(seed: int, index: int) -> tuple[int, int, np.random.Generator]:
    """Pythia seeds of the hard process and of the pile-up, and a NumPy generator, for event ``index``."""
    hard, pileup, rest = np.random.SeedSequence(seed, spawn_key=(index,)).spawn(3)
    return (
        int(hard.generate_state(1)[0]) % _MAX_PYTHIA_SEED,
        int(pileup.generate_state(1)[0]) % _MAX_PYTHIA_SEED,
        np.random.default_rng(rest),
    )


class EventGenerator:
    """The Pythia instances of one worker: the hard process, and soft QCD for the pile-up when ``pileup > 0``.

    Args:
        process: ``zmumu`` (Z -> mu mu), ``ttbar`` or ``minbias`` (soft QCD, inelastic).
        pileup: mean number of pile-up interactions per event.
    """

    def __init__(self, process: str, pileup: float) -> None:
        self.process = check_process(process)
        self.pileup = pileup
        self._hard = _make_pythia(_HARD_SETTINGS[self.process])
        self._soft = (
            (self._hard if self.process == "minbias" else _make_pythia(_PILEUP_SETTINGS))
            if pileup > 0
            else None
        )

    def generate(self, seed: int, index: int) -> tuple[GeneratedParticles, np.random.Generator]:
        """Event ``index`` of the run with ``seed``: its particles and the generator for its detector part."""
        hard_seed, pileup_seed, rng = event_seeds(seed, index)
        vertices = rng.normal(size=(1 + rng.poisson(self.pileup), 3)) * LUMINOUS_REGION_SIGMA_MM
        self._hard.rndm.init(hard_seed)
        parts = [_read(_next(self._hard), vertices[0], 0, with_z=self.process == "zmumu")]
        if len(vertices) > 1:
            self._soft.rndm.init(pileup_seed)
            parts += [
                _read(_next(self._soft), vertex, k, with_z=False) for k, vertex in enumerate(vertices[1:], 1)
            ]
        return GeneratedParticles.concatenate(parts), rng


def _make_pythia(settings: tuple[str, ...]) -> pythia8mc.Pythia:
    lines = (f"Beams:eCM = {CENTRE_OF_MASS_ENERGY}", *settings, "Next:numberCount = 0", "Print:quiet = on")
    return initialised_pythia(lines, what=f"with {settings}")


def _next(pythia: pythia8mc.Pythia) -> pythia8mc.Event:
    for _ in range(_MAX_TRIES):
        if pythia.next():
            return pythia.event
    msg = f"Pythia failed {_MAX_TRIES} events in a row"
    raise RuntimeError(msg)


def _read(
    event: pythia8mc.Event, offset: np.ndarray, interaction: int, *, with_z: bool
) -> GeneratedParticles:
    """Charged final-state particles of one Pythia event, moved to ``offset``."""
    rows = np.array(
        [
            (p.xProd(), p.yProd(), p.zProd(), p.px(), p.py(), p.pz(), p.charge(), p.m(), p.id(), p.index())
            for p in event
            if p.isFinal() and p.isCharged()
        ],
        np.float64,
    ).reshape(-1, 10)
    from_z = np.zeros(len(rows), bool)
    if with_z:
        z_index = next((p.index() for p in event if p.id() == Z_ID), None)
        if z_index is not None:
            from_z = np.array([event[int(i)].isAncestor(z_index) for i in rows[:, 9]], bool)
    return GeneratedParticles(
        vertex=rows[:, :3] + offset,
        momentum=rows[:, 3:6],
        charge=rows[:, 6],
        mass=rows[:, 7],
        pdg_id=rows[:, 8].astype(np.int64),
        interaction=np.full(len(rows), interaction, np.int64),
        from_z=from_z,
    )
