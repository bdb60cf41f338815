"""Graphs held as PyG ``Data`` objects (point clouds, tracker events), usable wherever jets are.

Training, evaluation and the explainer benchmark read labelled graphs through a small protocol that
:class:`~hepxai.data.jets.Jets` (the fast columnar store of jets) and :class:`GraphList` both follow:
``len()``, ``label`` (one class per graph), ``num_features``, ``select(index)`` and ``to_batch()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from torch_geometric.data import Batch, Data


@dataclass(frozen=True)
class GraphList:
    """Labelled graphs: each a ``Data`` with ``x``, ``edge_index``, a graph label ``y`` and optional extras
    (``pos``, ``edge_attr``, ``node_truth``), see ``docs/data.md``."""

    graphs: tuple[Data, ...]
    label: np.ndarray = field(init=False)  # [num_graphs] int64

    def __post_init__(self) -> None:
        object.__setattr__(self, "graphs", tuple(self.graphs))
        labels = [int(graph.y.reshape(-1)[0]) if graph.y is not None else -1 for graph in self.graphs]
        object.__setattr__(self, "label", np.asarray(labels, dtype=np.int64))

    @classmethod
    def of(cls, graphs: Sequence[Data]) -> GraphList:
        return cls(tuple(graphs))

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def num_features(self) -> int:
        """Features per node (0 for an empty list)."""
        return int(self.graphs[0].x.shape[1]) if self.graphs else 0

    def select(self, index: np.ndarray) -> GraphList:
        """The graphs at ``index`` (integer indices or a boolean mask), in that order."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return GraphList(tuple(self.graphs[i] for i in index))

    def to_batch(self) -> Batch:
        """One PyG ``Batch`` of all graphs."""
        return Batch.from_data_list(list(self.graphs))
