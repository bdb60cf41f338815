"""SynMol: 3D molecules labelled by two functional groups, the atoms of those groups being the ground truth.

Molecules come from the ZINC-derived SMILES of the MOSES benchmark, shipped in the ``molsets`` package
(``moses/dataset/data/train.csv.gz``, 1.58 M molecules, MIT licence); nothing is downloaded. As the LRI
paper (Miao et al. 2023, appendix B), after McCloskey et al. (2019) and Sanchez-Lengeling et al. (2020):

- **Label**: positive when the molecule holds an unbranched alkane ``[R0;D2,D1][R0;D2][R0;D2,D1]`` and a
  carbonyl ``[CX3]=O`` (SMARTS); ``node_truth`` marks every atom of every match of either pattern in a
  positive molecule (none in a negative one).
- **Balance**: ``positive_fraction`` (18%, the paper's class ratio) of the samples are positive, and the
  negatives are split evenly over the three other combinations (alkane only, carbonyl only, neither), the
  McCloskey design that the LRI data follows: a model that finds only one of the groups cannot separate the
  classes. Molecules are taken in a seeded random order of the file until every group is full. About 19%
  of MOSES molecules hold both groups, 60% a carbonyl only, 5% an alkane only, 16% neither.
- **Split** 78/11/11 as the paper, random within each of the four groups, so every split has the same mix.
- **Conformers** with RDKit: add hydrogens → ETKDG (seeded) → MMFF94 (up to 1000 iterations) → remove
  hydrogens; a molecule whose embedding fails is dropped and the next one taken.

Per sample (a PyG ``Data``): ``pos`` ``[N, 3]`` the heavy atoms' positions in **ångström**, centred on
their mean (the paper centres every cloud); ``x`` ``[N, len(ATOM_TYPES)]`` the atom type one-hot;
``y`` ``[1]``; ``node_truth`` ``[N]``; ``smiles`` (str). LRI-Gaussian's scale c = 10–15 (the paper's) puts 1
near the 5th–10th percentile of ``|c · pos|`` in these units.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.data.pointsets.transfer import from_plain, to_plain
from hepxai.errors import InputError
from hepxai.parallel import engine

log = logging.getLogger(__name__)

ALKANE = "[R0;D2,D1][R0;D2][R0;D2,D1]"
CARBONYL = "[CX3]=O"
ATOM_TYPES = ("C", "N", "O", "S", "F", "Cl", "Br", "other")
"""The elements of MOSES molecules (C, N, O, S, F, Cl, Br), and a column for anything else."""
GROUPS = ("both", "alkane", "carbonyl", "neither")  # alkane & carbonyl, alkane only, carbonyl only, neither
SPLIT = (0.78, 0.11, 0.11)
CHUNK = 256


@dataclass(frozen=True)
class SynMolSettings:
    """What a SynMol dataset is made from; stored in its ``dataset.yaml``."""

    samples: int = 8663  # the paper's size
    positive_fraction: float = 0.18  # the paper's class ratio, 18/82
    seed: int = 0

    def check(self) -> None:
        """Raises :class:`InputError` naming the first setting out of range."""
        if self.samples < 4:
            msg = f"pointsets make synmol: field 'samples' must be >= 4 (got {self.samples})"
            raise InputError(msg)
        if not 0 < self.positive_fraction < 1:
            msg = (
                "pointsets make synmol: field 'positive_fraction' must be in (0, 1) "
                f"(got {self.positive_fraction})"
            )
            raise InputError(msg)

    def group_sizes(self) -> dict[str, int]:
        """Samples wanted per group: the positives, and the negatives split evenly over the other three."""
        positives = round(self.samples * self.positive_fraction)
        negatives = self.samples - positives
        return {
            "both": positives,
            **{g: negatives // 3 + (i < negatives % 3) for i, g in enumerate(GROUPS[1:])},
        }


def smiles_path() -> Path:
    """``train.csv.gz`` of the installed ``molsets`` package (found without importing ``moses``).

    Raises:
        InputError: ``molsets`` is not installed.
    """
    try:
        path = Path(importlib.metadata.distribution("molsets").locate_file("moses/dataset/data/train.csv.gz"))
    except importlib.metadata.PackageNotFoundError as err:
        msg = "pointsets make synmol: package 'molsets' is not installed (pip install --no-deps molsets)"
        raise InputError(msg) from err
    if not path.is_file():
        msg = f"{path}: the molsets package has no SMILES file"
        raise InputError(msg)
    return path


def synmol_samples(
    settings: SynMolSettings,
    *,
    workers: int = 1,
    progress: bool = True,
    smiles: Sequence[str] | None = None,
    scheduler: str | None = None,
) -> dict[str, list[Data]]:
    """Samples per group (``GROUPS``), each group filled to :meth:`SynMolSettings.group_sizes`.

    Args:
        settings: Size, balance and seed.
        workers: Worker processes for the conformers (a local Dask cluster; :mod:`hepxai.parallel`).
        progress: Show a progress bar.
        smiles: The molecules to draw from (default: the MOSES training set of :func:`smiles_path`).
        scheduler: Address of a running Dask scheduler for the conformers, instead of local workers.

    Raises:
        InputError: the molecules run out before every group is full.
    """
    settings.check()
    source = "the given SMILES" if smiles is not None else str(smiles_path())
    smiles = np.asarray(smiles if smiles is not None else pd.read_csv(smiles_path())["SMILES"].to_numpy())
    order = np.random.default_rng(settings.seed).permutation(len(smiles))
    wanted = settings.group_sizes()
    chosen: dict[str, list[Data]] = {group: [] for group in GROUPS}
    failed = 0
    with tqdm(total=settings.samples, unit="molecule", desc="synmol", disable=not progress) as bar:
        for group, sample in _molecules(smiles, order, wanted, workers, settings.seed, scheduler):
            if group is None or len(chosen[group]) >= wanted[group]:
                continue
            if sample is None:
                failed += 1
                continue
            chosen[group].append(sample)
            bar.update()
            if all(len(chosen[g]) == wanted[g] for g in GROUPS):
                break
        else:
            short = {g: wanted[g] - len(chosen[g]) for g in GROUPS if len(chosen[g]) < wanted[g]}
            msg = f"{source}: not enough molecules for the groups (missing {short})"
            raise InputError(msg)
    log.info("synmol: %d molecules, %d conformer failures dropped", settings.samples, failed)
    return chosen


def molecule_group(mol: Chem.Mol) -> tuple[str, np.ndarray]:
    """The group of an RDKit molecule and the indices of the atoms of its functional groups (if positive)."""
    alkane = mol.GetSubstructMatches(_pattern(ALKANE))
    carbonyl = mol.GetSubstructMatches(_pattern(CARBONYL))
    group = GROUPS[2 * (not alkane) + (not carbonyl)]
    atoms = sorted({atom for match in (*alkane, *carbonyl) for atom in match}) if group == "both" else []
    return group, np.asarray(atoms, dtype=np.int64)


_PATTERNS: dict[str, Chem.Mol] = {}


def _pattern(smarts: str) -> Chem.Mol:
    if smarts not in _PATTERNS:
        _PATTERNS[smarts] = Chem.MolFromSmarts(smarts)
    return _PATTERNS[smarts]


def molecule_sample(smiles: str, *, seed: int) -> tuple[str | None, Data | None]:
    """The group of one SMILES and its sample (``None`` when RDKit cannot parse or embed it)."""
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None, None
    group, truth_atoms = molecule_group(mol)
    with_h = Chem.AddHs(mol)
    parameters = AllChem.ETKDGv3()
    parameters.randomSeed = seed
    if AllChem.EmbedMolecule(with_h, parameters) < 0:
        return group, None
    AllChem.MMFFOptimizeMolecule(with_h, maxIters=1000)
    heavy = Chem.RemoveHs(with_h)
    position = heavy.GetConformer().GetPositions()
    position -= position.mean(0)
    types = [atom.GetSymbol() for atom in heavy.GetAtoms()]
    column = [ATOM_TYPES.index(t) if t in ATOM_TYPES else len(ATOM_TYPES) - 1 for t in types]
    truth = torch.zeros(len(types), dtype=torch.bool)
    truth[torch.from_numpy(truth_atoms)] = True
    return group, Data(
        x=torch.nn.functional.one_hot(torch.tensor(column), len(ATOM_TYPES)).float(),
        pos=torch.from_numpy(position).float(),
        y=torch.tensor([int(group == "both")]),
        node_truth=truth,
        smiles=str(smiles),
    )


def _classify(smiles: str) -> str | None:
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else molecule_group(mol)[0]


def embed(smiles: str, seed: int) -> tuple[str | None, dict | None]:
    """A molecule's group and sample (a conformer) as plain values: the task each worker runs."""
    torch.set_num_threads(1)
    group, sample = molecule_sample(smiles, seed=seed)
    return group, to_plain(sample)


def _molecules(
    smiles: np.ndarray,
    order: np.ndarray,
    wanted: dict[str, int],
    workers: int,
    seed: int,
    scheduler: str | None = None,
) -> Iterator[tuple[str | None, Data | None]]:
    """(group, sample) of the molecules in ``order``; molecules of groups already full are classified only.

    Classifying takes 0.2 ms, a conformer about 40 ms: the cheap test decides which molecules are embedded.
    A molecule is embedded while its group is short by the count at the time it is classified, which
    depends on earlier results only, so the outcome does not depend on ``workers``.
    """
    counts = dict.fromkeys(GROUPS, 0)
    with engine(workers, scheduler) as runner:
        for first in range(0, len(order), CHUNK):
            pending = []
            for text in smiles[order[first : first + CHUNK]]:
                group = _classify(text)
                if group is not None and counts[group] < wanted[group]:
                    counts[group] += 1  # reserved; a failed embedding gives the place back below
                    pending.append(text)
            for _, (group, plain) in runner.map(embed, pending, seed, ordered=True):
                sample = from_plain(plain)
                if sample is None and group is not None:
                    counts[group] -= 1
                yield group, sample


def settings_record(settings: SynMolSettings) -> dict:
    """The settings as plain YAML values."""
    return {
        key: float(value) if isinstance(value, float) else value for key, value in asdict(settings).items()
    }
