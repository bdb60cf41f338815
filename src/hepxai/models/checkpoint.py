"""Saving and loading model checkpoints: this project's format (any registered kind) and the original HIN.

A checkpoint stores the model's kind, its config and its weights; one written before kinds existed holds a
HIN, and the original HIN state dict (``.npz``/``.pth``) loads as one. Keys a kind has renamed since
(its ``renamed_keys``) are renamed on load, so old checkpoints keep loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.io.torch_files import load_torch, unreadable
from hepxai.models.interaction_network import InteractionNetwork
from hepxai.models.registry import GraphModel, build_model, model_class, model_kinds

FORMAT = "hepxai-checkpoint-v1"
_ORIGINAL_PREFIXES = {
    "interactionnetwork.edge_model.edge_mlp.": "edge_mlp.",
    "interactionnetwork.node_model.node_mlp_1.": "node_mlp_1.",
    "interactionnetwork.node_model.node_mlp_2.": "node_mlp_2.",
    "interactionnetwork.global_model.global_mlp.": "global_mlp.",
}


def save_checkpoint(path: str | Path, model: GraphModel, **extra: Any) -> Path:
    """Write the model (and any ``extra`` training state) atomically: a temporary file, then a rename."""
    path = Path(path)
    content = {"format": FORMAT, "kind": model.kind, "config": model.config, "state_dict": model.state_dict()}
    with atomic_path(path) as temporary:
        torch.save({**content, **extra}, temporary)
    return path


def load_checkpoint(path: str | Path) -> GraphModel:
    """Load a model in eval mode from this project's checkpoint or the original HIN state dict.

    The original layout (keys ``bn.*`` and ``interactionnetwork.{edge_model.edge_mlp, ...}``) is accepted
    as ``.npz`` or as a torch ``.pth``/``.pt`` file; sizes are inferred from the weights.

    Raises:
        InputError: the file is missing or unreadable, its kind is unknown, or its keys or shapes do not
            fit the model.
    """
    return model_from_state(read_checkpoint(path), path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint content; an original state dict comes back as ``{"state_dict": ...}``."""
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: checkpoint not found"
        raise InputError(msg)
    try:
        if path.suffix == ".npz":
            with np.load(path) as archive:
                content: Any = {k: torch.from_numpy(archive[k].copy()) for k in archive.files}
        else:
            content = load_torch(path, "checkpoint")
    except InputError:
        raise
    except Exception as err:
        raise unreadable(path, "checkpoint", err) from err
    if not isinstance(content, dict):
        msg = f"{path}: expected a state dict or a hepxai checkpoint, got {type(content).__name__}"
        raise InputError(msg)
    if content.get("format") == FORMAT:
        return content
    return {"state_dict": content}


def training_selection(content: dict[str, Any]) -> str | None:
    """The jet selection the model was trained with (``original`` or ``none``), from
    :func:`read_checkpoint`'s content; ``None`` where the checkpoint does not store it (the original HIN,
    checkpoints written before runs stored their config).
    """
    data = (content.get("run_config") or {}).get("data") or {}
    selection = data.get("selection")
    return selection if selection in ("original", "none") else None


def training_features(content: dict[str, Any]) -> tuple[str, ...]:
    """The track features the model was trained on, by schema name (``data.features`` of its run), from
    :func:`read_checkpoint`'s content; empty where the model reads every feature of its schema.

    Pass it to :meth:`hepxai.data.schema.Schema.subset` to read jets as the model was trained on them.
    """
    data = (content.get("run_config") or {}).get("data") or {}
    return tuple(data.get("features") or ())


def model_from_state(content: dict[str, Any], path: str | Path = "checkpoint") -> GraphModel:
    """Build the model from :func:`read_checkpoint`'s content and load its weights, checking every key."""
    kind = content.get("kind", InteractionNetwork.kind)
    if kind == InteractionNetwork.kind:
        renames = _ORIGINAL_PREFIXES
    else:  # an unknown kind is reported by build_model below
        renames = model_class(kind).renamed_keys if kind in model_kinds() else {}
    state = _renamed(content["state_dict"], renames)
    config = content.get("config") or _infer_config(state, path)
    try:
        model = build_model(kind, **config)
    except InputError as err:
        msg = f"{path}: {err}"
        raise InputError(msg) from err
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing key '{missing[0]}'" if missing else f"unexpected key '{unexpected[0]}'"
        msg = (
            f"{path}: not a {kind} checkpoint ({what}; {len(missing)} missing, {len(unexpected)} unexpected)"
        )
        raise InputError(msg)
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            msg = (
                f"{path}: '{key}' has shape {tuple(state[key].shape)}, "
                f"expected {tuple(tensor.shape)} for {config}"
            )
            raise InputError(msg)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return model.eval()


def _renamed(state: dict[str, torch.Tensor], prefixes: dict[str, str]) -> dict[str, torch.Tensor]:
    """``state`` with every key starting with an old prefix renamed to start with the new one."""
    renamed = {}
    for key, value in state.items():
        for old, new in prefixes.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        renamed[key] = torch.as_tensor(value)
    return renamed


def _infer_config(state: dict[str, torch.Tensor], path: str | Path) -> dict[str, int]:
    try:
        num_features = state["bn.weight"].shape[0]
        hidden = state["edge_mlp.0.weight"].shape[0]
        num_classes = state["global_mlp.3.weight"].shape[0]
    except KeyError as err:
        msg = f"{path}: not a HIN checkpoint (missing key '{err.args[0]}')"
        raise InputError(msg) from err
    return {"num_features": int(num_features), "hidden": int(hidden), "num_classes": int(num_classes)}
