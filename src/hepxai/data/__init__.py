"""Jet data: schemas, ROOT reading and writing, graphs, the sanity set and simulated jets."""

from hepxai.data.jets import Jets
from hepxai.data.root_io import ORIGINAL_SELECTION, TreeWriter, iter_jets, open_tree, read_jets
from hepxai.data.schema import Schema, load_schema

__all__ = [
    "ORIGINAL_SELECTION",
    "Jets",
    "Schema",
    "TreeWriter",
    "iter_jets",
    "load_schema",
    "open_tree",
    "read_jets",
]
