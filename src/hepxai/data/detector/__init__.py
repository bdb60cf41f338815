"""A solenoid tracking detector fed by Pythia 8, written as TrackML events (see docs/detector.md).

Modules, in the order data flows: ``geometry`` (layers from YAML, module cells), ``events`` (hard process and
pile-up from Pythia), ``propagation`` (helix crossings, loopers, multiple scattering), ``digitization``
(efficiency, smearing, noise, module ids), ``simulation`` (one event's TrackML tables and truth weights),
``trackml_io`` (CSV and HDF5, written and read), ``driver`` (many events, workers, resume), ``graph_data``
(an event as a PyG ``Data``), ``summary`` (what ``hepxai detector inspect`` prints).
"""

from hepxai.data.detector.driver import simulate_events
from hepxai.data.detector.geometry import Geometry, load_geometry
from hepxai.data.detector.simulation import DetectorSettings
from hepxai.data.detector.trackml_io import TrackMLEvent, read_events

__all__ = ["DetectorSettings", "Geometry", "TrackMLEvent", "load_geometry", "read_events", "simulate_events"]
