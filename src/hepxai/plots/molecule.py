"""A molecule drawn in 2D with a method's per-atom importance, the ground-truth atoms ringed.

RDKit depicts the molecule from the sample's SMILES: each heavy atom is highlighted with the colour of its
importance (pale = unimportant), and the atoms of the functional groups that make a SynMol sample positive
are circled. SynMol builds a sample's points from the same SMILES (hydrogens added, embedded, removed
again), which keeps RDKit's heavy-atom order, so atom ``i`` of the depiction is point ``i`` of the sample;
:func:`molecule_highlight` checks it against the sample's atom types.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.image import imread
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D
from torch_geometric.data import Data

from hepxai.data.pointsets.synmol import ATOM_TYPES
from hepxai.errors import InputError
from hepxai.plots.style import plot_style

MOLECULE_CMAP = "YlOrRd"
HIGHLIGHT_RADIUS = 0.4  # in the depiction's units, where a bond is 1.5
TRUTH_RING_RADIUS = 0.55
TRUTH_RING_COLOR = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class MoleculeHighlight:
    """What a molecule depiction shows.

    Attributes:
        mol: The heavy-atom molecule, in the sample's atom order, with 2D coordinates.
        atom_colors: Atom index → RGB of its importance, for every atom.
        truth_atoms: The ground-truth atoms (ringed), ascending.
        legend: Text under the molecule.
    """

    mol: Chem.Mol
    atom_colors: dict[int, tuple[float, float, float]]
    truth_atoms: tuple[int, ...]
    legend: str = ""


def molecule_highlight(
    sample: Data, importance: np.ndarray, truth: np.ndarray, *, legend: str = "", source: str = "sample"
) -> MoleculeHighlight:
    """The depiction of a SynMol sample with each atom coloured by ``importance`` (in [0, 1]).

    Args:
        sample: A SynMol sample with ``smiles`` and the atom-type one-hot ``x``.
        importance: ``[atoms]`` in [0, 1], 1 = most important.
        truth: ``[atoms]`` bool, the ground-truth atoms.
        legend: Text under the molecule.
        source: Names the sample in errors (e.g. ``test.pt positive sample 3``).

    Raises:
        InputError: the sample has no ``smiles``, RDKit cannot parse it, or its heavy atoms differ in number
            or type from the sample's points (the atom order would not match the scores).
    """
    smiles = getattr(sample, "smiles", None)
    if not isinstance(smiles, str):
        msg = f"{source}: field 'smiles' is missing (not a SynMol sample?)"
        raise InputError(msg)
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        msg = f"{source}: field 'smiles' is {smiles!r}, which RDKit cannot parse"
        raise InputError(msg)
    types = [ATOM_TYPES[column] for column in sample.x.argmax(1).tolist()]
    symbols = [atom.GetSymbol() if atom.GetSymbol() in ATOM_TYPES else "other" for atom in mol.GetAtoms()]
    if symbols != types or len(importance) != len(types):
        msg = (
            f"{source}: the atoms of field 'smiles' ({' '.join(symbols)}) differ from its points "
            f"({' '.join(types)}, {len(importance)} scores)"
        )
        raise InputError(msg)
    mol = rdMolDraw2D.PrepareMolForDrawing(mol, addChiralHs=False)  # keeps the atoms as they are
    cmap, norm = colormaps[MOLECULE_CMAP], colors.Normalize(0.0, 1.0)
    atom_colors = {
        index: tuple(float(channel) for channel in cmap(norm(value))[:3])
        for index, value in enumerate(importance)
    }
    truth_atoms = tuple(int(index) for index in np.flatnonzero(np.asarray(truth, bool)))
    return MoleculeHighlight(mol, atom_colors, truth_atoms, legend)


def molecule_png(highlight: MoleculeHighlight, *, size: tuple[int, int] = (420, 320)) -> bytes:
    """The depiction as PNG bytes (RDKit's Cairo drawer)."""
    drawer = rdMolDraw2D.MolDraw2DCairo(*size)
    atoms = list(highlight.atom_colors)
    drawer.DrawMolecule(
        highlight.mol,
        highlightAtoms=atoms,
        highlightAtomColors=highlight.atom_colors,
        highlightAtomRadii=dict.fromkeys(atoms, HIGHLIGHT_RADIUS),
        highlightBonds=[],
        legend=highlight.legend,
    )
    drawer.SetColour(TRUTH_RING_COLOR)
    drawer.SetFillPolys(False)
    drawer.SetLineWidth(2)
    conformer = highlight.mol.GetConformer()
    for index in highlight.truth_atoms:
        position = conformer.GetAtomPosition(index)
        drawer.DrawArc(Point2D(position.x, position.y), TRUTH_RING_RADIUS, 0.0, 360.0)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def molecule_grid(
    images: Sequence[Sequence[bytes]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str = "",
    importance_label: str = "importance",
) -> Figure:
    """PNG depictions in a grid (e.g. rows = molecules, columns = methods) with one colour bar.

    Args:
        images: ``images[row][column]`` PNG bytes of :func:`molecule_png`.
        row_labels: One label per row.
        column_labels: One label per column.
        title: Figure title.
        importance_label: Colour bar label.
    """
    rows, columns = len(images), len(column_labels)
    with plot_style():
        figure = Figure(figsize=(3.6 * columns + 1.2, 2.8 * rows + 0.6))
        axes = figure.subplots(rows, columns, squeeze=False, gridspec_kw={"wspace": 0.02, "hspace": 0.04})
        for row, (row_images, row_label) in enumerate(zip(images, row_labels, strict=True)):
            for column, png in enumerate(row_images):
                ax = axes[row, column]
                ax.imshow(imread(io.BytesIO(png), format="png"))
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if row == 0:
                    ax.set_title(column_labels[column], fontsize=12)
                if column == 0:
                    ax.set_ylabel(row_label, fontsize=11)
        figure.colorbar(
            ScalarMappable(colors.Normalize(0.0, 1.0), colormaps[MOLECULE_CMAP]),
            ax=axes.ravel().tolist(),
            label=f"{importance_label}; ring: ground-truth atom",
            shrink=0.8,
        )
        if title:
            figure.suptitle(title, fontsize=13)
    return figure
