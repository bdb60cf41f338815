"""Boosted H->bb and QCD jets from Pythia 8 + FastJet, in the CMS H->bb ntuple schema with per-track truth.

``simulate(out, num_signal=..., num_background=...)`` writes a file that
:func:`hepxai.data.root_io.read_jets` reads with the ``cms_hbb`` schema. Modules, in the order data flows:
``generation`` (Pythia settings), ``particles`` (the visible final state), ``truth`` (b-hadron ancestry),
``clustering`` (anti-kT and soft drop), ``pileup`` (minimum-bias interactions from a library), ``impact``
(impact parameters and resolution), ``tracker`` (the tracks measured in the tracking detector),
``primary_vertex`` (vertices from the tracks), ``association`` (tracks to vertices, CMS's flags),
``vertices`` (secondary vertices), ``tracks`` (the CMS track features), ``selection`` (one jet per event,
labels), ``driver`` (per-jet seeds, parallel workers, writing).

``simulate`` is imported on first use: the detector's event generator imports ``generation`` from here,
and the driver imports the detector, so an eager import would be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hepxai.data.simulate.driver import simulate

__all__ = ["simulate"]


def __getattr__(name: str) -> object:
    if name == "simulate":
        from hepxai.data.simulate.driver import simulate

        return simulate
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
