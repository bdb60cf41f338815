"""Named settings: disjoint splits within their sample's events, and the sizes the slides ask for."""

from __future__ import annotations

import pytest

from hepxai.errors import InputError
from hepxai.tracking.settings import SETTINGS, SPLITS, get_setting


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_splits_are_disjoint_and_inside_the_sample(name: str) -> None:
    setting = get_setting(name)
    ids = [set(setting.split(split)) for split in SPLITS]
    assert len(ids[0] | ids[1] | ids[2]) == sum(len(split) for split in ids)
    assert max(max(split) for split in ids) < setting.sample.events
    assert [len(split) >= size for split, size in zip(ids, (100, 50, 50), strict=True)] == [True] * 3


def test_pt1_mu200_is_the_one_gev_sample() -> None:
    setting = get_setting("pt1_mu200")
    assert (setting.pt_min, setting.min_hits, setting.sample.pileup) == (1.0, 5, 200.0)
    assert setting.sample.scattering
    with pytest.raises(InputError, match="field 'split' is 'all'"):
        setting.split("all")


@pytest.mark.parametrize(("name", "first"), [("pt1_mu200", (1.0, 1.5)), ("pt05_mu200", (0.5, 0.75))])
def test_efficiency_bins_start_at_the_pt_cut(name: str, first: tuple[float, float]) -> None:
    edges = get_setting(name).pt_edges
    assert edges[:2] == first
    assert list(edges) == sorted(set(edges))  # increasing, no empty bin at the cut
