import pytest
import yaml

from hepxai.data import load_schema
from hepxai.errors import InputError


def test_cms_schema_has_the_original_shape():
    schema = load_schema("cms_hbb")
    assert schema.tree == "deepntuplizer/tree"
    assert schema.num_features == 48
    assert len(schema.unique_features) == 45
    assert schema.spectators == ("fj_sdmass", "fj_pt")
    assert schema.max_tracks == 60
    assert schema.signal_labels == ("label_H_bb",)
    assert schema.background_flag == "sample_isQCD"


def test_cms_schema_matches_the_original_definitions(reference_dir):
    schema = load_schema("cms_hbb")
    original = yaml.safe_load((reference_dir / "definitions.yml").read_text())
    assert list(schema.features) == original["features"]
    assert list(schema.spectators) == original["spectators"]
    assert {*schema.label_branches} == set(original["labels"])


def test_repeated_cms_features_get_unique_display_names():
    names = load_schema("cms_hbb").display_names()
    assert len(set(names)) == 48
    assert names.count("track_pt") == 1
    assert "track_pt (2)" in names
    assert "track_dlambdadz (2)" in names


def test_sanity_schema_has_its_own_names():
    schema = load_schema("sanity")
    assert schema.features == tuple(f"f{i}" for i in range(48))
    assert schema.max_tracks == 10
    assert schema.spectators == ()


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("tree: t\nmax_tracks: 3\nfeatures: [a]\nlabels: {}\nfeaturez: [b]\n")
    with pytest.raises(InputError, match="unknown key 'featurez'"):
        load_schema(path)


def test_missing_schema_file(tmp_path):
    with pytest.raises(InputError, match="schema file not found"):
        load_schema(tmp_path / "nope.yml")


def test_subset_keeps_the_named_features_in_order():
    schema = load_schema("cms_hbb")
    subset = schema.subset(["track_dxysig", "track_pt"])
    assert subset.features == ("track_dxysig", "track_pt")  # track_pt, twice in the schema, counts once
    assert subset.unique_features == subset.features
    assert schema.subset([]) is schema
    with pytest.raises(InputError, match="no 'track_nope'"):
        schema.subset(["track_nope"])
    with pytest.raises(InputError, match="'track_pt' twice"):
        schema.subset(["track_pt", "track_pt"])
