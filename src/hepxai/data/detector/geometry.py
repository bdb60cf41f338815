"""The tracker geometry: barrel cylinders and endcap disks read from YAML, validated, with their module cells.

A geometry is a flat table of sensitive surfaces (barrel cylinders first, then disks), each with its TrackML
volume and layer id, its sensor technology (smearing, module size, material) and its extent. The default,
``default_geometry.yml`` beside this module, is close to the TrackML detector and the ACTS generic detector.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from hepxai.errors import InputError

DEFAULT_GEOMETRY = Path(__file__).with_name("default_geometry.yml")
MIN_GAP_MM = 1.0  # two surfaces closer than this, with overlapping extents, overlap
_TECHNOLOGY_FIELDS = ("resolution_across", "resolution_along", "module_width", "module_length", "material")


@dataclass(frozen=True)
class Geometry:
    """Sensitive surfaces as arrays indexed by surface number; barrels come first. Lengths in mm.

    ``radius``/``half_length`` describe barrel cylinders, ``z``/``r_min``/``r_max`` disks; the other kind's
    entries are NaN.
    """

    source: str  # the YAML file it came from
    digest: str  # SHA-256 of the YAML text, to tell geometries apart when resuming a run
    envelope_radius: float
    envelope_half_length: float
    barrel: np.ndarray  # [S] bool
    volume_id: np.ndarray  # [S] int
    layer_id: np.ndarray  # [S] int
    technology: tuple[str, ...]  # [S]
    radius: np.ndarray  # [S] barrel radius
    half_length: np.ndarray  # [S] barrel half-length
    z: np.ndarray  # [S] disk position
    r_min: np.ndarray  # [S] disk inner radius
    r_max: np.ndarray  # [S] disk outer radius
    resolution_across: np.ndarray  # [S] sigma along phi
    resolution_along: np.ndarray  # [S] sigma along z (barrel) or r (disk)
    module_width: np.ndarray  # [S] along phi
    module_length: np.ndarray  # [S] along z (barrel) or r (disk)
    material: np.ndarray  # [S] thickness in radiation lengths at normal incidence

    @property
    def num_surfaces(self) -> int:
        return len(self.volume_id)

    @property
    def num_barrels(self) -> int:
        return int(self.barrel.sum())

    def module_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Module cells per surface: rings (barrel: z rows), the phi cells of each ring, and ring offsets.

        Returns ``num_rings [S]``, ``phi_cells [S, max_rings]`` and ``first_module [S, max_rings]`` (the
        module number of each ring's first cell, counting from 0). A disk ring at mean radius ``r`` has
        ``ceil(2 pi r / module_width)`` cells, so modules keep their size from the inner to the outer ring.
        """
        extent = np.where(self.barrel, 2 * self.half_length, self.r_max - self.r_min)
        num_rings = np.ceil(extent / self.module_length - 1e-9).astype(np.int64)
        ring = np.arange(num_rings.max())
        ring_radius = np.where(
            self.barrel[:, None],
            self.radius[:, None],
            self.r_min[:, None] + (ring + 0.5) * (extent / num_rings)[:, None],
        )
        phi_cells = np.ceil(2 * np.pi * ring_radius / self.module_width[:, None] - 1e-9).astype(np.int64)
        phi_cells = np.where(ring < num_rings[:, None], phi_cells, 0)
        first_module = np.cumsum(phi_cells, axis=1) - phi_cells
        return num_rings, phi_cells, first_module

    def module_id(self, surface: np.ndarray, position: np.ndarray) -> np.ndarray:
        """TrackML ``module_id`` (from 1) of points ``position [N, 3]`` on surfaces ``surface [N]``."""
        num_rings, phi_cells, first_module = self.module_grid()
        barrel = self.barrel[surface]
        r = np.hypot(position[:, 0], position[:, 1])
        along = np.where(
            barrel,
            (position[:, 2] + self.half_length[surface]) / (2 * self.half_length[surface]),
            (r - self.r_min[surface]) / (self.r_max[surface] - self.r_min[surface]),
        )
        ring = np.clip(np.floor(along * num_rings[surface]).astype(np.int64), 0, num_rings[surface] - 1)
        cells = phi_cells[surface, ring]
        phi_fraction = (np.arctan2(position[:, 1], position[:, 0]) + np.pi) / (2 * np.pi)
        phi_cell = np.clip(np.floor(phi_fraction * cells).astype(np.int64), 0, cells - 1)
        return first_module[surface, ring] + phi_cell + 1

    def num_modules(self) -> np.ndarray:
        """Modules per surface ``[S]``."""
        return self.module_grid()[1].sum(axis=1)


def load_geometry(path: str | Path | None = None) -> Geometry:
    """Read and validate a geometry YAML file (the default when ``path`` is None).

    Raises:
        InputError: a missing or malformed field, a non-positive length, layers outside the envelope, or two
            layers that overlap.
    """
    path = DEFAULT_GEOMETRY if path is None else Path(path)
    if not path.is_file():
        msg = f"{path}: geometry file not found"
        raise InputError(msg)
    text = path.read_text()
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as err:
        msg = f"{path}: not valid YAML ({str(err).splitlines()[0]})"
        raise InputError(msg) from err
    reader = _Reader(path)
    envelope = reader.mapping(spec, "", "envelope")
    technologies = reader.mapping(spec, "", "technologies")
    rows: list[dict] = []
    for index, volume in enumerate(reader.sequence(spec, "", "volumes")):
        field = f"volumes[{index}]"
        if not isinstance(volume, dict):
            msg = f"{path}: field '{field}' must be a mapping"
            raise InputError(msg)
        name = volume.get("technology")
        if name not in technologies:
            msg = f"{path}: field '{field}.technology' is {name!r}, expected one of {sorted(technologies)}"
            raise InputError(msg)
        sensor = {
            key: reader.positive(technologies[name], f"technologies.{name}", key)
            for key in _TECHNOLOGY_FIELDS
        }
        volume_id = volume.get("id")
        if not isinstance(volume_id, int) or volume_id < 0:
            msg = f"{path}: field '{field}.id' must be a non-negative integer (got {volume_id!r})"
            raise InputError(msg)
        if ("radii" in volume) == ("z" in volume):
            msg = f"{path}: field '{field}' needs either 'radii' (barrel) or 'z' (endcap disks)"
            raise InputError(msg)
        common = {"volume_id": volume_id, "technology": name, **sensor}
        if "radii" in volume:
            half_length = reader.positive(volume, field, "half_length")
            radii = sorted(reader.numbers(volume, field, "radii", positive=True))
            rows += [
                {**common, "barrel": True, "radius": r, "half_length": half_length, "layer_id": 2 * (k + 1)}
                for k, r in enumerate(radii)
            ]
        else:
            r_min, r_max = reader.positive(volume, field, "r_min"), reader.positive(volume, field, "r_max")
            if r_min >= r_max:
                msg = f"{path}: field '{field}.r_min' ({r_min}) must be below r_max ({r_max})"
                raise InputError(msg)
            positions = sorted(reader.numbers(volume, field, "z", positive=False))
            rows += [
                {**common, "barrel": False, "z": z, "r_min": r_min, "r_max": r_max, "layer_id": 2 * (k + 1)}
                for k, z in enumerate(positions)
            ]
    if not rows:
        msg = f"{path}: field 'volumes' holds no layers"
        raise InputError(msg)
    rows.sort(key=lambda row: not row["barrel"])  # barrels first, keeping the file's order otherwise
    geometry = Geometry(
        source=str(path),
        digest=hashlib.sha256(text.encode()).hexdigest(),
        envelope_radius=reader.positive(envelope, "envelope", "radius"),
        envelope_half_length=reader.positive(envelope, "envelope", "half_length"),
        barrel=np.array([row["barrel"] for row in rows]),
        volume_id=np.array([row["volume_id"] for row in rows], np.int64),
        layer_id=np.array([row["layer_id"] for row in rows], np.int64),
        technology=tuple(row["technology"] for row in rows),
        **{
            key: np.array([row.get(key, math.nan) for row in rows], np.float64)
            for key in ("radius", "half_length", "z", "r_min", "r_max", *_TECHNOLOGY_FIELDS)
        },
    )
    _check_layout(geometry, path)
    return geometry


def describe(geometry: Geometry, surface: int) -> str:
    """One surface in words, for error messages."""
    where = (
        f"r = {geometry.radius[surface]:g} mm, |z| <= {geometry.half_length[surface]:g} mm"
        if geometry.barrel[surface]
        else f"z = {geometry.z[surface]:g} mm, r {geometry.r_min[surface]:g}-{geometry.r_max[surface]:g} mm"
    )
    return f"volume {geometry.volume_id[surface]} layer {geometry.layer_id[surface]} ({where})"


def _check_layout(geometry: Geometry, path: Path) -> None:
    """Every layer inside the envelope, unique (volume, layer) ids, and no two surfaces that intersect."""
    keys = list(zip(geometry.volume_id.tolist(), geometry.layer_id.tolist(), strict=True))
    if len(set(keys)) != len(keys):
        msg = f"{path}: field 'volumes': a volume id appears twice"
        raise InputError(msg)
    outer_r = np.where(geometry.barrel, geometry.radius, geometry.r_max)
    outer_z = np.where(geometry.barrel, geometry.half_length, np.abs(geometry.z))
    outside = np.flatnonzero(
        (outer_r >= geometry.envelope_radius) | (outer_z >= geometry.envelope_half_length)
    )
    if len(outside):
        msg = f"{path}: field 'envelope': {describe(geometry, int(outside[0]))} lies outside it"
        raise InputError(msg)
    for first in range(geometry.num_surfaces):
        for second in range(first + 1, geometry.num_surfaces):
            if _overlap(geometry, first, second):
                msg = (
                    f"{path}: field 'volumes': layers overlap: {describe(geometry, first)} and "
                    f"{describe(geometry, second)}"
                )
                raise InputError(msg)


def _overlap(geometry: Geometry, first: int, second: int) -> bool:
    barrel = geometry.barrel
    if barrel[first] and barrel[second]:
        return bool(abs(geometry.radius[first] - geometry.radius[second]) < MIN_GAP_MM)  # both centred at z=0
    if not barrel[first] and not barrel[second]:
        return bool(
            abs(geometry.z[first] - geometry.z[second]) < MIN_GAP_MM
            and geometry.r_min[first] <= geometry.r_max[second]
            and geometry.r_min[second] <= geometry.r_max[first]
        )
    cylinder, disk = (first, second) if barrel[first] else (second, first)
    return bool(
        abs(geometry.z[disk]) <= geometry.half_length[cylinder] + MIN_GAP_MM
        and geometry.r_min[disk] - MIN_GAP_MM
        <= geometry.radius[cylinder]
        <= geometry.r_max[disk] + MIN_GAP_MM
    )


class _Reader:
    """Typed access to YAML fields with one-line errors naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _get(self, mapping: object, prefix: str, key: str) -> object:
        name = f"{prefix}.{key}" if prefix else key
        if not isinstance(mapping, dict) or key not in mapping:
            msg = f"{self.path}: field '{name}' is missing"
            raise InputError(msg)
        return mapping[key]

    def mapping(self, mapping: object, prefix: str, key: str) -> dict:
        value = self._get(mapping, prefix, key)
        if not isinstance(value, dict):
            msg = f"{self.path}: field '{key}' must be a mapping"
            raise InputError(msg)
        return value

    def sequence(self, mapping: object, prefix: str, key: str) -> list:
        value = self._get(mapping, prefix, key)
        if not isinstance(value, list):
            msg = f"{self.path}: field '{key}' must be a list"
            raise InputError(msg)
        return value

    def positive(self, mapping: object, prefix: str, key: str) -> float:
        value = self._get(mapping, prefix, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            msg = f"{self.path}: field '{prefix}.{key}' must be a positive number (got {value!r})"
            raise InputError(msg)
        return float(value)

    def numbers(self, mapping: object, prefix: str, key: str, *, positive: bool) -> list[float]:
        values = self._get(mapping, prefix, key)
        valid = (
            isinstance(values, list)
            and len(values) > 0
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            and (not positive or all(v > 0 for v in values))
        )
        if not valid:
            kind = "positive numbers" if positive else "numbers"
            msg = f"{self.path}: field '{prefix}.{key}' must be a non-empty list of {kind} (got {values!r})"
            raise InputError(msg)
        return [float(v) for v in values]
