"""Taggers: the Higgs Interaction Network and its checkpoints."""

from hepxai.models.checkpoint import load_checkpoint, save_checkpoint
from hepxai.models.interaction_network import CLASSES, InteractionNetwork

__all__ = ["CLASSES", "InteractionNetwork", "load_checkpoint", "save_checkpoint"]
