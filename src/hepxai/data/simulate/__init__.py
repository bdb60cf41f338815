"""Boosted H->bb and QCD jets from Pythia 8 + FastJet, in the CMS H->bb ntuple schema with per-track truth.

``simulate(out, num_signal=..., num_background=...)`` writes a file that
:func:`hepxai.data.root_io.read_jets` reads with the ``cms_hbb`` schema. Modules, in the order data flows:
``generation`` (Pythia settings), ``particles`` (the visible final state), ``truth`` (b-hadron ancestry),
``clustering`` (anti-kT and soft drop), ``impact`` (impact parameters and resolution), ``tracks`` (the CMS
track features), ``selection`` (one jet per event, labels), ``driver`` (parallel workers, writing).
"""

from hepxai.data.simulate.driver import simulate

__all__ = ["simulate"]
