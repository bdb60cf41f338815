import pytest

from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.data.pointsets.store import load_pointset, pointset_info, save_pointset
from hepxai.errors import InputError


def test_round_trip_keeps_graphs_and_records_counts(tmp_path):
    clouds = synthetic_point_clouds(6, seed=1)
    save_pointset(tmp_path, "synthetic", {"train": clouds[:4], "valid": clouds[4:], "test": []}, {"seed": 1})
    info = pointset_info(tmp_path)
    assert info["kind"] == "synthetic"
    assert info["splits"] == {"train": 4, "valid": 2, "test": 0}
    assert info["positives"]["train"] == sum(int(c.y) for c in clouds[:4])
    assert info["seed"] == 1
    train = load_pointset(tmp_path, "train", kind="synthetic")
    assert len(train) == 4
    assert (train.graphs[2].pos == clouds[2].pos).all()


def test_wrong_kind_empty_split_and_plain_folder_are_one_line_errors(tmp_path):
    clouds = synthetic_point_clouds(2, seed=0)
    save_pointset(tmp_path, "synthetic", {"train": clouds, "test": []})
    with pytest.raises(InputError, match="field 'kind' is 'synthetic', expected 'synmol'"):
        load_pointset(tmp_path, "train", kind="synmol")
    with pytest.raises(InputError, match="split 'test' is empty"):
        load_pointset(tmp_path, "test")
    with pytest.raises(InputError, match="split 'valid' is missing"):
        load_pointset(tmp_path, "valid")
    with pytest.raises(InputError, match="not a point-set dataset"):
        load_pointset(tmp_path / "nothing", "train")
