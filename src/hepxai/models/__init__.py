"""Models: every kind registered by name, one interface, and their checkpoints."""

from hepxai.models.checkpoint import load_checkpoint, save_checkpoint
from hepxai.models.dgcnn import DGCNN
from hepxai.models.egnn import EGNN
from hepxai.models.interaction_network import CLASSES, InteractionNetwork
from hepxai.models.point_transformer import PointTransformer
from hepxai.models.registry import GraphModel, build_model, model_kinds, register_model

__all__ = [
    "CLASSES",
    "DGCNN",
    "EGNN",
    "GraphModel",
    "InteractionNetwork",
    "PointTransformer",
    "build_model",
    "load_checkpoint",
    "model_kinds",
    "register_model",
    "save_checkpoint",
]
