"""Molecule depictions: SynMol's atom order is RDKit's, truth atoms ringed, colours follow importance."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from rdkit import Chem

from hepxai.data.pointsets.synmol import molecule_group, molecule_sample
from hepxai.errors import InputError
from hepxai.plots.molecule import molecule_grid, molecule_highlight, molecule_png

# Branches, rings, ring closures late in the string, halogens, a charged nitrogen: atom orders that would
# show up if a sample's points were not in the order of the atoms of its SMILES.
MOLECULES = ("CCCC(=O)OCl", "O=C(CCCC)N1CCC(Br)CC1", "CC(C)(C)c1ccc(cc1)C(=O)CCCF", "C[N+](C)(C)CCCC(=O)[O-]")


@pytest.mark.parametrize("smiles", MOLECULES)
def test_sample_points_are_the_atoms_of_the_smiles_in_order(smiles):
    _, sample = molecule_sample(smiles, seed=0)
    mol = Chem.MolFromSmiles(smiles)
    assert sample.num_nodes == mol.GetNumAtoms()
    # Every bond of the SMILES joins two points a bond length apart (1.2-2.0 Å), every other pair is farther.
    distance = torch.cdist(sample.pos.double(), sample.pos.double())
    bonded = torch.zeros_like(distance, dtype=torch.bool)
    for bond in mol.GetBonds():
        bonded[bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()] = bonded[
            bond.GetEndAtomIdx(), bond.GetBeginAtomIdx()
        ] = True
    assert distance[bonded].min() > 1.15
    assert distance[bonded].max() < 2.0
    assert (
        distance[~bonded & ~torch.eye(len(distance), dtype=torch.bool)].min() > distance[bonded].max() * 0.9
    )
    highlight = molecule_highlight(sample, np.linspace(0, 1, sample.num_nodes), sample.node_truth.numpy())
    assert [a.GetSymbol() for a in highlight.mol.GetAtoms()] == [a.GetSymbol() for a in mol.GetAtoms()]
    assert list(highlight.truth_atoms) == molecule_group(mol)[1].tolist()
    assert list(highlight.truth_atoms) == torch.nonzero(sample.node_truth).reshape(-1).tolist()


def test_highlight_colours_every_atom_by_importance_and_rings_the_truth():
    _, sample = molecule_sample("CCCC(=O)OCl", seed=0)
    importance = np.array([0.0, 0.2, 1.0, 0.5, 0.9, 0.1, 0.3])
    highlight = molecule_highlight(sample, importance, sample.node_truth.numpy(), legend="test")
    assert highlight.truth_atoms == (0, 1, 2, 3, 4)
    assert sorted(highlight.atom_colors) == list(range(7))
    # YlOrRd runs from pale yellow to dark red: the most important atom has the least green and blue.
    darkness = {atom: sum(rgb) for atom, rgb in highlight.atom_colors.items()}
    assert min(darkness, key=darkness.get) == 2
    assert max(darkness, key=darkness.get) == 0
    ringed = imread(io.BytesIO(molecule_png(highlight)), format="png")
    plain = imread(
        io.BytesIO(molecule_png(molecule_highlight(sample, importance, np.zeros(7, bool)))), format="png"
    )
    assert ringed.shape == plain.shape == (320, 420, 3)
    black = lambda image: int((image[..., :3].max(-1) < 0.15).sum())  # noqa: E731
    assert black(ringed) > black(plain) + 500  # five black rings


def test_a_sample_whose_atoms_differ_from_its_smiles_is_refused():
    _, sample = molecule_sample("CCCC(=O)OCl", seed=0)
    sample.smiles = "ClOC(=O)CCCC"  # the same molecule, atoms in the reverse order
    with pytest.raises(InputError, match=r"test.pt sample 0: the atoms of field 'smiles' \(Cl O C"):
        molecule_highlight(sample, np.zeros(7), np.zeros(7, bool), source="test.pt sample 0")
    del sample.smiles
    with pytest.raises(InputError, match="field 'smiles' is missing"):
        molecule_highlight(sample, np.zeros(7), np.zeros(7, bool))


def test_grid_holds_one_panel_per_molecule_and_method():
    _, sample = molecule_sample("CCCC(=O)OCl", seed=0)
    png = molecule_png(molecule_highlight(sample, np.zeros(7), sample.node_truth.numpy()))
    figure = molecule_grid(
        [[png, png, png], [png, png, png]], row_labels=["a", "b"], column_labels=["x", "y", "z"]
    )
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 6
    assert [ax.get_title() for ax in panels[:3]] == ["x", "y", "z"]
    assert [panels[0].get_ylabel(), panels[3].get_ylabel()] == ["a", "b"]
