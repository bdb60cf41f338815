"""Named settings: disjoint splits within their sample's events, and the sizes the slides ask for; custom
settings of another size, written out and read back with every field checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hepxai.errors import InputError
from hepxai.tracking.settings import (
    SETTING_FILE,
    SETTINGS,
    SPLITS,
    find_setting,
    get_setting,
    setting_from_record,
    setting_record,
    sized_setting,
)


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


def test_a_custom_setting_keeps_the_detector_and_splits_its_events_half_quarter_quarter() -> None:
    base = get_setting("pt05_mu200")
    custom = sized_setting(base, events=21, pileup=20)
    assert custom.name == "pt05_mu20_n21"
    assert (custom.sample.name, custom.sample.events, custom.sample.pileup) == ("ttbar_mu20_n21", 21, 20.0)
    assert (custom.sample.seed, custom.sample.bfield, custom.pt_min) == (15, 2.0, 0.5)
    assert (custom.train, custom.valid, custom.test) == (range(0, 10), range(10, 15), range(15, 21))
    assert sized_setting(base, events=200, pileup=200) is base  # the named setting's own size
    # 200 events split as the named settings do
    full = sized_setting(base, pileup=20)
    assert (full.train, full.valid, full.test) == (base.train, base.valid, base.test)
    with pytest.raises(InputError, match="field 'events' is 2, expected at least 3"):
        sized_setting(base, events=2)


def test_a_custom_setting_reads_back_from_its_record(tmp_path: Path) -> None:
    custom = sized_setting(get_setting("pt1_mu200"), events=8, pileup=0.5)
    path = tmp_path / SETTING_FILE
    path.write_text(yaml.safe_dump(setting_record(custom)))
    assert setting_from_record(yaml.safe_load(path.read_text()), path, "") == custom
    assert find_setting("pt1_mu200", tmp_path) == get_setting("pt1_mu200")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("pt_min"), "field 'pt_min' is missing"),
        (lambda r: r.update(colour="red"), "field 'colour' is unknown"),
        (lambda r: r["sample"].update(events="many"), "field 'sample.events' is 'many', expected an integer"),
        (lambda r: r["sample"].update(scattering=1), "field 'sample.scattering' is 1, expected true or"),
        (lambda r: r.update(sample=[]), r"field 'sample' is \[\], expected a mapping"),
        (lambda r: r.update(valid=[4, 2]), r"field 'valid' is \[4, 2\], expected \[start, stop\]"),
        (lambda r: r.update(test=[6, 9]), r"field 'test' is \[6, 9\], expected .* <= 8"),
    ],
)
def test_a_broken_record_names_the_file_and_field(change, message: str, tmp_path: Path) -> None:
    record = setting_record(sized_setting(get_setting("pt1_mu200"), events=8))
    change(record)
    path = tmp_path / "setting.yaml"
    with pytest.raises(InputError, match=f"^{path}: {message}"):
        setting_from_record(record, path, "")
