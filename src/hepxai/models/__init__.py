"""Models: every kind registered by name, one interface, and their checkpoints.

Importing any model module runs this file, which imports every kind and the canonizers beside them
(:mod:`hepxai.models.dense_lrp`), so that their fast paths are registered before any explainer asks.
"""

from hepxai.models import dense_lrp  # noqa: F401  (registers the HIN's dense LRP)
from hepxai.models.checkpoint import load_checkpoint, save_checkpoint
from hepxai.models.dgcnn import DGCNN
from hepxai.models.edge_classifier import EdgeClassifier
from hepxai.models.egnn import EGNN
from hepxai.models.embedding_in import EmbeddingIN
from hepxai.models.hgnn import HGNNBipartite, HGNNEmbedding
from hepxai.models.interaction_network import CLASSES, InteractionNetwork
from hepxai.models.point_transformer import PointTransformer
from hepxai.models.registry import GraphModel, build_model, model_kinds, register_model

__all__ = [
    "CLASSES",
    "DGCNN",
    "EGNN",
    "EdgeClassifier",
    "EmbeddingIN",
    "GraphModel",
    "HGNNBipartite",
    "HGNNEmbedding",
    "InteractionNetwork",
    "PointTransformer",
    "build_model",
    "load_checkpoint",
    "model_kinds",
    "register_model",
    "save_checkpoint",
]
