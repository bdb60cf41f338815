"""Point clouds as PyG ``Data``: ``x`` (features), ``pos`` (positions), ``edge_index``/``edge_attr`` (a graph
built from the positions), ``y`` (graph label) and ``node_truth`` (the points that carry the label)."""

from hepxai.data.pointsets.synthetic import FEATURE_NAMES, synthetic_point_clouds

__all__ = ["FEATURE_NAMES", "synthetic_point_clouds"]
