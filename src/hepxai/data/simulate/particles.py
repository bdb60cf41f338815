"""One generated event as arrays: the visible final state and its heavy-flavour hadrons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pythia8mc

from hepxai.data.simulate import truth
from hepxai.data.simulate.tracks import select_tracks

MM_TO_CM = 0.1
NEUTRINOS = frozenset({12, 14, 16})
ACCEPTANCE_ETA = 5.0  # particles beyond the calorimeters' reach are not clustered


@dataclass(frozen=True)
class Event:
    """Visible final-state particles (|eta| < 5, neutrinos removed) and the weakly decaying b and c hadrons.

    Positions are in cm, momenta in GeV.
    """

    momentum: np.ndarray  # [num_particles, 4] px, py, pz, E
    pdg_id: np.ndarray  # [num_particles] int32
    charge: np.ndarray  # [num_particles] float64
    vertex: np.ndarray  # [num_particles, 3] production vertex
    from_b: np.ndarray  # [num_particles] bool, descends from a b hadron (evaluated for track candidates only)
    primary_vertex: np.ndarray  # [3] the hard interaction's position
    from_pileup: np.ndarray  # [num_particles] bool, from a pile-up interaction (none in Pythia's record)
    b_hadrons: np.ndarray  # [num_b, 3] px, py, pz of the weakly decaying b hadrons
    c_hadrons: np.ndarray  # [num_c, 3] weakly decaying c hadrons not from b decays
    higgs_b_hadrons: np.ndarray  # [num_hb, 3] the b hadrons descending from the Higgs boson


def read_event(event: pythia8mc.Event, *, with_higgs: bool) -> Event:
    """Copy what the jet simulation needs out of Pythia's event record.

    Args:
        event: ``pythia.event`` after a successful ``pythia.next()``.
        with_higgs: look for the b hadrons of a Higgs decay (signal sample).
    """
    visible: list[int] = []
    b_hadrons: list[int] = []
    c_hadrons: list[int] = []
    for particle in event:
        if particle.isFinal():
            if particle.idAbs() not in NEUTRINOS and abs(particle.eta()) < ACCEPTANCE_ETA:
                visible.append(particle.index())
        elif particle.isHadron():
            flavour = truth.hadron_flavour(particle.id())
            if flavour == truth.BOTTOM and truth.is_weakly_decaying(event, particle.index(), truth.BOTTOM):
                b_hadrons.append(particle.index())
            elif (
                flavour == truth.CHARM
                and truth.is_weakly_decaying(event, particle.index(), truth.CHARM)
                and not truth.descends_from_b_hadron(event, particle.index())
            ):
                c_hadrons.append(particle.index())
    rows = np.array(
        [
            (p.px(), p.py(), p.pz(), p.e(), p.xProd(), p.yProd(), p.zProd(), p.charge(), p.id())
            for p in (event[i] for i in visible)
        ],
        dtype=np.float64,
    ).reshape(-1, 9)
    charge = rows[:, 7]
    from_b = np.zeros(len(visible), bool)
    for position in np.flatnonzero(select_tracks(rows[:, :4], charge)):
        from_b[position] = truth.descends_from_b_hadron(event, visible[position])
    origin = event[0].vProd()
    higgs_b = truth.higgs_b_hadrons(event, b_hadrons) if with_higgs else []
    return Event(
        momentum=rows[:, :4],
        pdg_id=rows[:, 8].astype(np.int32),
        charge=charge,
        vertex=rows[:, 4:7] * MM_TO_CM,
        from_b=from_b,
        primary_vertex=np.array([origin.px(), origin.py(), origin.pz()]) * MM_TO_CM,
        from_pileup=np.zeros(len(visible), bool),
        b_hadrons=_three_momenta(event, b_hadrons),
        c_hadrons=_three_momenta(event, c_hadrons),
        higgs_b_hadrons=_three_momenta(event, higgs_b),
    )


def _three_momenta(event: pythia8mc.Event, indices: list[int]) -> np.ndarray:
    return np.array([(event[i].px(), event[i].py(), event[i].pz()) for i in indices], np.float64).reshape(
        -1, 3
    )
