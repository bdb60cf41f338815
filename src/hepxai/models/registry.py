"""Model kinds by name: checkpoints store a kind and its config, and :func:`build_model` rebuilds any of them.

Every registered model follows one interface (see :class:`GraphModel`), so training, evaluation and every
explainer work on any kind without knowing its layers.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.errors import InputError

Level = Literal["graph", "node", "edge"]


class GraphModel(nn.Module):
    """The interface every hepxai model follows.

    ``forward(batch) -> logits`` of shape ``[rows, len(classes)]``, one row per graph, node or edge
    (``level``). A model honours the optional per-edge ``batch.edge_weight`` (multiplies every message) and
    per-node ``batch.node_weight`` (weighs every pooling over nodes): mask explainers and learnable
    randomness set them. Geometric models read positions from ``batch.pos``, kept apart from the features
    ``batch.x``. Graph operations go through :mod:`hepxai.models.graph_ops` so that LRP can follow them.

    Attributes:
        kind: Registry name, stored in checkpoints.
        level: What one row of the output belongs to.
        classes: Names of the output columns.
        default_target: What explainers explain when no target is given.
        input_norm_name: Name of the module that standardises the input features (the reference point of
            ``input="standardized"`` explanations), or ``None``.
        embedding_name: Name of the module whose output is the last per-node embedding (GradGAM, BernMask-P).
        message_passing_steps: Rounds of message passing, where every node's input features reach the
            output only through its own update and the messages along ``batch.edge_index`` gathered from
            them (1 for the HIN); ``None`` if unknown. Relevant walks (:mod:`hepxai.explain.walks`) need 1.
        renamed_keys: State-dict key prefixes the kind used before, and their names now: checkpoints
            written before a rename keep loading.
    """

    kind: ClassVar[str]
    num_features: int  # input features per node
    level: ClassVar[Level] = "graph"
    classes: tuple[str, ...] = ("signal",)
    default_target: str = "signal"
    input_norm_name: str | None = None
    embedding_name: str | None = None
    message_passing_steps: int | None = None
    renamed_keys: ClassVar[dict[str, str]] = {}

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        raise NotImplementedError

    def forward(self, batch: Batch) -> Tensor:  # pragma: no cover - the interface
        raise NotImplementedError

    def fast_forward(self, batch: Batch) -> Tensor:
        """The same function as ``forward``, computed the fastest known way (training, scoring).

        ``forward`` stays the plain reference that explainers run and fast paths are tested against.
        """
        return self(batch)

    def submodule(self, name: str | None) -> nn.Module | None:
        """The submodule called ``name`` (``None`` stays ``None``)."""
        return None if name is None else self.get_submodule(name)


_MODELS: dict[str, type[GraphModel]] = {}
_M = TypeVar("_M", bound=type[GraphModel])


def register_model(cls: _M) -> _M:
    """Class decorator that makes a model kind buildable by its ``kind`` name.

    Raises:
        ValueError: the name is taken by another class.
    """
    if cls.kind in _MODELS and _MODELS[cls.kind] is not cls:
        msg = f"model kind '{cls.kind}' is already registered to {_MODELS[cls.kind].__name__}"
        raise ValueError(msg)
    _MODELS[cls.kind] = cls
    return cls


def model_kinds() -> list[str]:
    """Names of the registered model kinds, sorted."""
    return sorted(_MODELS)


def model_class(kind: str) -> type[GraphModel]:
    """The class registered as ``kind``.

    Raises:
        InputError: no model kind has that name.
    """
    if kind not in _MODELS:
        msg = f"unknown model kind '{kind}' (valid: {', '.join(model_kinds())})"
        raise InputError(msg)
    return _MODELS[kind]


def build_model(kind: str, **config: Any) -> GraphModel:
    """A new model of ``kind`` built from its config (the constructor arguments).

    Raises:
        InputError: unknown kind, or a config the constructor does not take.
    """
    cls = model_class(kind)
    try:
        return cls(**config)
    except TypeError as err:
        msg = f"model kind '{kind}': bad config {config} ({err})"
        raise InputError(msg) from err
