"""The warnings of an evaluation too small to mean anything."""

from __future__ import annotations

import pytest

from hepxai.metrics.tracking import TrackingCounts
from hepxai.tracking.run_size import MIN_BUILDER_EVENTS, run_size_warnings

TRUTH = "Truth-CC"


def counts(matched: int, reconstructable: int) -> TrackingCounts:
    return TrackingCounts(reconstructable, matched, reconstructable, 0)


def test_a_full_size_run_gets_no_warning() -> None:
    # 9,900 of 10,000: the 68% interval is about ±0.001
    record = {"builder": "module_map", "train_events": [0, 100]}
    assert (
        run_size_warnings(
            record, {TRUTH: counts(9_950, 10_000), "chain": counts(9_900, 10_000)}, truth_chain=TRUTH
        )
        == []
    )


@pytest.mark.parametrize(
    ("train_events", "warned"), [([0, MIN_BUILDER_EVENTS - 1], True), ([50, 50 + MIN_BUILDER_EVENTS], False)]
)
def test_a_builder_fitted_on_few_events_is_named(train_events: list[int], warned: bool) -> None:
    record = {"builder": "module_map", "train_events": train_events}
    warnings = run_size_warnings(record, {TRUTH: counts(9_950, 10_000)}, truth_chain=TRUTH)
    assert bool(warnings) == warned
    if warned:
        assert warnings[0].startswith(
            f"the graph builder (module_map) was fitted on {MIN_BUILDER_EVENTS - 1}"
        )


def test_graphs_that_lose_tracks_are_named() -> None:
    (warning,) = run_size_warnings({}, {TRUTH: counts(9_700, 10_000)}, truth_chain=TRUTH)
    assert warning.startswith("the graphs keep the true edges of only 97.0% of the reconstructable particles")


def test_few_particles_name_the_least_certain_chain() -> None:
    # 95 of 100: Clopper-Pearson 68% [0.9176, 0.9714], half-width 0.027; 100 of 100: [0.9818, 1], 0.009
    (warning,) = run_size_warnings({}, {TRUTH: counts(100, 100), "chain": counts(95, 100)}, truth_chain=TRUTH)
    assert warning.startswith("100 reconstructable particles: the efficiency of chain is uncertain by ±0.027")
