"""Whether an evaluation is too small to mean anything: the warnings ``evaluate`` logs and writes.

Three things make a small run's numbers meaningless, each with a threshold measured in docs/tracking.md:

- a graph builder fitted on few events: a module map keeps only the module pairs its training particles
  crossed, so a map from few events misses true edges that no model can recover;
- graphs that lose tracks, whatever the reason (a map from few events at low pile-up, where each event has
  few particles): Truth-CC, the chain of the graphs' true edges, finds fewer than
  :data:`MIN_TRUTH_CC_EFFICIENCY` of the reconstructable particles;
- few reconstructable particles: the efficiency's statistical uncertainty, half the Clopper–Pearson 68%
  interval, grows as 1/√N; above :data:`MAX_EFFICIENCY_UNCERTAINTY` a difference between two chains or two
  runs at the third decimal the summary prints is noise.
"""

from __future__ import annotations

from collections.abc import Mapping

from hepxai.metrics.binomial import clopper_pearson
from hepxai.metrics.tracking import TrackingCounts

MIN_BUILDER_EVENTS = 100
"""Fewest training events of a graph builder that make its graphs worth evaluating, the named settings'
100: a module map of pT > 1 GeV particles at mu = 200 keeps 68.7% of the true edges of other events when
fitted on 4 events, 85.0% on 10, 92.2% on 20, 98.2% on 100; at mu = 20 (a tenth of the particles per
event) 47.5% on 10 and 86.8% on 80 (docs/tracking.md, "A run that fits a laptop")."""
MIN_TRUTH_CC_EFFICIENCY = 0.98
"""Truth-CC efficiency below which the graphs, not the model, bound the efficiency (pt1_mu200's module map
from 100 events: 99.1%)."""
MAX_EFFICIENCY_UNCERTAINTY = 0.01
"""Largest half-width of the efficiency's 68% Clopper–Pearson interval the summary's precision warrants."""
WARNINGS_FILE = "warnings.txt"
"""Where ``evaluate`` writes the warnings of a run too small to mean anything (absent when none)."""


def run_size_warnings(
    graph_record: Mapping[str, object], counts: Mapping[str, TrackingCounts], *, truth_chain: str
) -> list[str]:
    """The reasons an evaluation means little, one line each (empty when none).

    Args:
        graph_record: The graph folder's ``graphs.yaml`` (its builder's ``train_events``, ``[start, stop]``).
        counts: Each chain's counts over the evaluated events, Truth-CC's among them.
        truth_chain: Truth-CC's name in ``counts``.
    """
    warnings = []
    bounds = graph_record.get("train_events")
    if isinstance(bounds, list) and len(bounds) == 2:
        events = int(bounds[1]) - int(bounds[0])
        if events < MIN_BUILDER_EVENTS:
            warnings.append(
                f"the graph builder ({graph_record.get('builder')}) was fitted on {events} training events, "
                f"fewer than {MIN_BUILDER_EVENTS}: its graphs miss true edges that a larger sample keeps "
                "(see the Truth-CC efficiency); efficiencies are not those of the full setting"
            )
    truth = counts[truth_chain]
    if truth.efficiency < MIN_TRUTH_CC_EFFICIENCY:
        warnings.append(
            f"the graphs keep the true edges of only {truth.efficiency:.1%} of the reconstructable particles "
            f"(Truth-CC), less than {MIN_TRUTH_CC_EFFICIENCY:.0%}: the graphs, not the model, bound the "
            "efficiency (fit the graph builder on more events)"
        )
    widths = {name: _half_width(chain) for name, chain in counts.items()}
    name = max(widths, key=widths.__getitem__, default=None)
    if name is not None and widths[name] > MAX_EFFICIENCY_UNCERTAINTY:
        warnings.append(
            f"{counts[name].reconstructable} reconstructable particles: the efficiency of {name} is "
            f"uncertain by ±{widths[name]:.3f} (68% Clopper-Pearson), more than "
            f"{MAX_EFFICIENCY_UNCERTAINTY}; evaluate more events before comparing chains or runs"
        )
    return warnings


def _half_width(counts: TrackingCounts) -> float:
    if counts.reconstructable == 0:
        return 1.0
    lower, upper = clopper_pearson(counts.matched_reconstructable, counts.reconstructable)
    return float(upper - lower) / 2
