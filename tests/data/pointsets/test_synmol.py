"""SynMol: the functional groups, the truth atoms, the conformers, the balance of groups."""

from __future__ import annotations

import pytest
import torch
from rdkit import Chem

from hepxai.data.pointsets.synmol import (
    ATOM_TYPES,
    GROUPS,
    SynMolSettings,
    molecule_group,
    molecule_sample,
    synmol_samples,
)
from hepxai.errors import InputError


@pytest.mark.parametrize(
    ("smiles", "group", "truth"),
    [
        ("CCCC(=O)O", "both", [0, 1, 2, 3, 4]),  # propyl chain C0-C1-C2 (C3 has 3 neighbours), C3=O4; O5 not
        ("CC(=O)c1ccccc1", "carbonyl", []),  # acetophenone: no chain of three acyclic atoms of degree <= 2
        ("CCCCO", "alkane", []),
        ("c1ccccc1", "neither", []),
    ],
)
def test_groups_and_truth_atoms(smiles, group, truth):
    found, atoms = molecule_group(Chem.MolFromSmiles(smiles))
    assert found == group
    assert atoms.tolist() == truth


def test_a_sample_holds_a_centred_conformer_and_one_hot_atom_types():
    group, sample = molecule_sample("CCCC(=O)OCl", seed=0)
    assert group == "both"
    assert sample.pos.shape == (7, 3)
    torch.testing.assert_close(sample.pos.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    bond = torch.linalg.vector_norm(sample.pos[0] - sample.pos[1])
    assert 1.4 < bond < 1.65  # a C-C single bond, in ångström
    assert sample.x.shape == (7, len(ATOM_TYPES))
    assert sample.x[:, ATOM_TYPES.index("Cl")].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert sample.node_truth.tolist() == [True] * 5 + [False] * 2
    again = molecule_sample("CCCC(=O)OCl", seed=0)[1]
    assert torch.equal(again.pos, sample.pos)


def test_groups_are_filled_as_asked():
    settings = SynMolSettings(samples=10, positive_fraction=0.4)
    assert settings.group_sizes() == {"both": 4, "alkane": 2, "carbonyl": 2, "neither": 2}
    pool = ["CCCC(=O)O", "c1ccccc1", "CCCCO", "CC(=O)c1ccccc1", "CCCC=O", "OCCCN", "CC(C)C(=O)C", "C1CCCC1"]
    pool += ["CCCCC(=O)N", "c1ccncc1", "CCCCCC(=O)OC", "not a molecule"]
    groups = synmol_samples(settings, progress=False, smiles=pool)
    for group in GROUPS:
        assert len(groups[group]) == settings.group_sizes()[group]
        assert all(int(s.y) == (group == "both") for s in groups[group])
    assert all(s.node_truth.any() for s in groups["both"])
    assert not any(s.node_truth.any() for group in GROUPS[1:] for s in groups[group])


def test_bad_settings_and_too_few_molecules_are_one_line_errors():
    with pytest.raises(InputError, match="field 'samples'"):
        SynMolSettings(samples=2).check()
    with pytest.raises(InputError, match=r"not enough molecules for the groups \(missing \{'both': 1"):
        synmol_samples(SynMolSettings(samples=8), progress=False, smiles=["CCCCO", "c1ccccc1"])
