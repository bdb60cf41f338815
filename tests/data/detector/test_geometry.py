"""The geometry file: the default detector, module cells, and one-line errors for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hepxai.data.detector.geometry import DEFAULT_GEOMETRY, Geometry, load_geometry
from hepxai.errors import InputError


def test_default_geometry_has_the_trackml_volumes_and_layers(geometry: Geometry) -> None:
    barrel = geometry.barrel
    np.testing.assert_allclose(geometry.radius[barrel], [32, 72, 116, 172, 260, 360, 500, 660, 820, 1020])
    np.testing.assert_array_equal(geometry.volume_id[barrel], [8] * 4 + [13] * 4 + [17] * 2)
    np.testing.assert_array_equal(geometry.layer_id[barrel], [2, 4, 6, 8, 2, 4, 6, 8, 2, 4])
    for volume, count in {7: 7, 9: 7, 12: 6, 14: 6, 16: 6, 18: 6}.items():
        layers = geometry.layer_id[geometry.volume_id == volume]
        np.testing.assert_array_equal(layers, 2 * np.arange(1, count + 1))
        z = geometry.z[geometry.volume_id == volume]
        assert np.all(np.diff(z) > 0)  # layer ids follow increasing z


def test_module_ids_are_the_cells_of_each_layer(geometry: Geometry) -> None:
    rng = np.random.default_rng(0)
    counts = geometry.num_modules()
    for surface in range(geometry.num_surfaces):
        n = 20_000
        phi = rng.uniform(-np.pi, np.pi, n)
        if geometry.barrel[surface]:
            r = np.full(n, geometry.radius[surface])
            z = rng.uniform(-1, 1, n) * geometry.half_length[surface]
        else:
            r = rng.uniform(geometry.r_min[surface], geometry.r_max[surface], n)
            z = np.full(n, geometry.z[surface])
        ids = geometry.module_id(np.full(n, surface), np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1))
        assert ids.min() >= 1
        assert ids.max() <= counts[surface]
        assert len(np.unique(ids)) > 0.95 * counts[surface]  # nearly every cell is hit by 20k points
    # pixel barrel layer 1: ceil(2 pi 32 / 16.8) = 12 cells in phi, ceil(982 / 72) = 14 in z
    assert counts[0] == 12 * 14


def _write(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_GEOMETRY.read_text()
    assert old in text
    path = tmp_path / "geometry.yml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("radii: [32, 72, 116, 172]", "radii: [32, 72, 116, 172, 172.5]", "layers overlap: volume 8 layer 8"),
        ("radii: [820, 1020]", "radii: [660, 1020]", "layers overlap: volume 13 layer 8"),
        ("half_length: 491.0", "half_length: 650.0", "layers overlap: volume 8"),
        (
            "r_min: 230.0, r_max: 700.0}\n  - {id: 13",
            "r_min: 230.0, r_max: 800.0}\n  - {id: 13",
            "layers overlap",
        ),
        ("radius: 1100.0", "radius: 1000.0", "field 'envelope'"),
        ("material: 0.015", "material: -1", "field 'technologies.pixel.material'"),
        ("technology: pixel, radii", "technology: diamond, radii", "field 'volumes[1].technology'"),
        ("radii: [820, 1020]", "radii: []", "field 'volumes[7].radii'"),
    ],
)
def test_bad_geometry_files_give_one_line_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _write(tmp_path, old, new)
    with pytest.raises(InputError, match=re.escape(message)) as error:
        load_geometry(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="geometry file not found"):
        load_geometry(tmp_path / "nowhere.yml")
    (tmp_path / "bad.yml").write_text("envelope: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_geometry(tmp_path / "bad.yml")
    (tmp_path / "empty.yml").write_text("envelope: {radius: 1, half_length: 1}\n")
    with pytest.raises(InputError, match="field 'technologies' is missing"):
        load_geometry(tmp_path / "empty.yml")
