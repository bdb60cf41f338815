"""Pythia events: the hard processes, per-event seeds that do not depend on what came before."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.data.detector.events import EventGenerator, check_process, event_seeds
from hepxai.errors import InputError


def test_seeds_depend_on_seed_and_index_only() -> None:
    first, second = event_seeds(1, 5), event_seeds(1, 5)
    assert first[:2] == second[:2]
    assert first[2].random() == second[2].random()
    assert event_seeds(1, 6)[:2] != first[:2]
    assert event_seeds(2, 5)[:2] != first[:2]


def test_ttbar_events_are_charged_final_states_without_z_flags() -> None:
    generator = EventGenerator("ttbar", 0)
    later, _ = generator.generate(seed=0, index=1)
    particles, _ = generator.generate(seed=0, index=0)
    again, _ = generator.generate(seed=0, index=1)  # after another event: the same event 1
    np.testing.assert_array_equal(again.momentum, later.momentum)
    assert len(particles.charge) > 100
    assert np.all(particles.charge != 0)
    assert not particles.from_z.any()
    assert np.all(particles.interaction == 0)
    assert len(np.unique(particles.vertex[:, 2])) > 1  # b and c hadron decays leave displaced vertices


def test_unknown_process() -> None:
    with pytest.raises(InputError, match="field 'process' is 'wz'"):
        check_process("wz")
