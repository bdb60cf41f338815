"""The edge classifier: a logit per edge, edges follow permutations, edge weights, checkpoints, bad input."""

import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models import EdgeClassifier, build_model, load_checkpoint, model_kinds, save_checkpoint

from ..tracking.toys import toy_event


def random_model(seed: int = 0, **config) -> EdgeClassifier:
    """A float64 model with random weights and BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = EdgeClassifier(**{"num_features": 3, "edge_features": 5, "hidden": 16, "iterations": 3, **config})
    model = model.double().eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    return model


def as_double(event: Data) -> Data:
    event = event.clone()
    event.x, event.edge_attr = event.x.double(), event.edge_attr.double()
    return event


def test_one_logit_per_edge_and_registered():
    event = as_double(toy_event(0))
    logits = random_model()(event)
    assert logits.shape == (event.edge_index.shape[1], 1)
    assert logits.std() > 1e-3
    assert "edge_classifier" in model_kinds()
    assert build_model("edge_classifier", hidden=8).level == "edge"


def test_permuting_hits_and_edges_permutes_the_logits():
    event = as_double(toy_event(1))
    model = random_model(1)
    generator = torch.Generator().manual_seed(3)
    hits = torch.randperm(event.num_nodes, generator=generator)
    new_index = torch.empty_like(hits)
    new_index[hits] = torch.arange(event.num_nodes)
    edges = torch.randperm(event.edge_index.shape[1], generator=generator)
    permuted = Data(
        x=event.x[hits], edge_index=new_index[event.edge_index[:, edges]], edge_attr=event.edge_attr[edges]
    )
    with torch.no_grad():
        torch.testing.assert_close(model(permuted), model(event)[edges], rtol=1e-12, atol=1e-12)


def test_a_zero_edge_weight_cuts_the_edge_out_of_message_passing():
    event = as_double(toy_event(2))
    model = random_model(2)
    cut = 7
    weighted = event.clone()
    weighted.edge_weight = torch.ones(event.edge_index.shape[1], dtype=torch.float64)
    weighted.edge_weight[cut] = 0.0
    keep = torch.arange(event.edge_index.shape[1]) != cut
    removed = Data(x=event.x, edge_index=event.edge_index[:, keep], edge_attr=event.edge_attr[keep])
    with torch.no_grad():
        torch.testing.assert_close(model(weighted)[keep], model(removed), rtol=1e-12, atol=1e-12)
        assert (model(weighted) - model(event)).abs().max() > 1e-6


def test_checkpoint_round_trip_and_wrong_edge_features(tmp_path):
    model = random_model(3)
    path = save_checkpoint(tmp_path / "m.pt", model)
    loaded = load_checkpoint(path).double()
    event = as_double(toy_event(3))
    with torch.no_grad():
        torch.testing.assert_close(loaded(event), model(event))
    with pytest.raises(ValueError, match="edge_attr of shape"):
        model(Data(x=event.x, edge_index=event.edge_index))
    with pytest.raises(InputError, match="bad config"):
        build_model("edge_classifier", layers=3)
