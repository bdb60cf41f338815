"""A tiny tracking setting: six tt̄ events without pile-up from the detector (a few seconds), shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch_geometric.data import Data

from hepxai.tracking.event_graph import event_hits
from hepxai.tracking.sample import make_events, read_setting_events
from hepxai.tracking.settings import Sample, Setting

TINY = Setting(
    name="tiny",
    sample=Sample(name="tiny_ttbar_mu0", pileup=0, events=6, seed=3),
    pt_min=1.0,
    train=range(0, 3),
    valid=range(3, 4),
    test=range(4, 6),
)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tracking")
    make_events(TINY, root, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_hits(tiny_root: Path) -> list[Data]:
    return [event_hits(event) for event in read_setting_events(TINY, tiny_root, range(6))]
