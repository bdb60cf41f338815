"""Generator truth: hadron flavour, descent from b hadrons, and the Higgs boson's b hadrons."""

from __future__ import annotations

import pythia8mc

BOTTOM, CHARM = 5, 4
HIGGS_ID = 25
_DECAY_STATUS = range(91, 100)  # Pythia status codes of particles produced in decays


def hadron_flavour(pdg_id: int) -> int:
    """The heavy flavour of a hadron: 5 for b hadrons, 4 for c hadrons (heaviest quark), else 0.

    Quarkonia (bb, cc mesons) have hidden flavour and return 0, as do diquarks, leptons and bosons.
    """
    code = abs(pdg_id) % 10_000  # drop the radial/orbital excitation digits
    quark1, quark2, quark3 = code // 1000 % 10, code // 100 % 10, code // 10 % 10
    if code < 100 or quark3 == 0:
        return 0
    if quark1 == 0 and quark2 == quark3:
        return 0
    heaviest = max(quark1, quark2, quark3)
    return heaviest if heaviest in (CHARM, BOTTOM) else 0


def descends_from_b_hadron(event: pythia8mc.Event, index: int) -> bool:
    """Whether particle ``index`` comes from a b-hadron decay chain.

    Walks ``mother1()`` upwards while the particle was produced in a decay (status 91-99); agrees with
    ``Particle.isAncestor`` for every b hadron and needs only a few look-ups per particle.
    """
    while event[index].statusAbs() in _DECAY_STATUS:
        index = event[index].mother1()
        if hadron_flavour(event[index].id()) == BOTTOM:
            return True
    return False


def is_weakly_decaying(event: pythia8mc.Event, index: int, flavour: int) -> bool:
    """Whether hadron ``index`` has ``flavour`` and decays into no hadron of that flavour."""
    return hadron_flavour(event[index].id()) == flavour and not any(
        hadron_flavour(event[daughter].id()) == flavour for daughter in event[index].daughterList()
    )


def higgs_b_hadrons(event: pythia8mc.Event, b_hadrons: list[int]) -> list[int]:
    """The b hadrons among ``b_hadrons`` whose ancestry reaches the first Higgs boson of the event."""
    higgs = next((particle.index() for particle in event if particle.id() == HIGGS_ID), None)
    if higgs is None:
        return []
    return [index for index in b_hadrons if event[index].isAncestor(higgs)]
