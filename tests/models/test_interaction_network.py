"""The HIN: original weights and logits, permutation invariance, the fused forward pass, bad checkpoints."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from hepxai.data.jets import Jets
from hepxai.errors import InputError
from hepxai.models import InteractionNetwork, load_checkpoint, save_checkpoint
from hepxai.models.fused import fused_forward

ORIGINAL_LOGITS = torch.tensor([[3.513144, -1.476648]])


def reference_jet(reference_dir: Path) -> Batch:
    jet = np.load(reference_dir / "cms_jet_67tracks.npz")
    data = Data(x=torch.from_numpy(jet["x"]), edge_index=torch.from_numpy(jet["edge_index"]))
    return Batch.from_data_list([data])


def random_jets(num_jets: int, *, seed: int, max_tracks: int = 8, num_features: int = 6) -> Jets:
    rng = np.random.default_rng(seed)
    num_tracks = rng.integers(1, max_tracks + 1, size=num_jets)
    features = rng.standard_normal((num_tracks.sum(), num_features)).astype(np.float32)
    return Jets(
        features, num_tracks, rng.integers(0, 2, size=num_jets), tuple(f"f{i}" for i in range(num_features))
    )


def test_original_npz_reproduces_original_logits(reference_dir):
    model = load_checkpoint(reference_dir / "hin_cms_state_dict.npz")
    assert not model.training
    with torch.no_grad():
        torch.testing.assert_close(model(reference_jet(reference_dir)), ORIGINAL_LOGITS, atol=1e-4, rtol=0)
        torch.testing.assert_close(
            fused_forward(model, reference_jet(reference_dir)), ORIGINAL_LOGITS, atol=1e-4, rtol=0
        )


def test_original_state_dict_as_pth_loads(tmp_path, reference_dir):
    with np.load(reference_dir / "hin_cms_state_dict.npz") as archive:
        state = {key: torch.from_numpy(archive[key]) for key in archive.files}
    torch.save(state, tmp_path / "hin.pth")
    with torch.no_grad():
        logits = load_checkpoint(tmp_path / "hin.pth")(reference_jet(reference_dir))
    torch.testing.assert_close(logits, ORIGINAL_LOGITS, atol=1e-4, rtol=0)


def test_track_order_changes_no_logit(reference_dir):
    model = load_checkpoint(reference_dir / "hin_cms_state_dict.npz")
    x = torch.from_numpy(np.load(reference_dir / "cms_jet_67tracks.npz")["x"])
    shuffled = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(1))]
    jets = [
        Jets(t.numpy(), np.array([len(t)]), np.array([0]), tuple(map(str, range(48)))) for t in (x, shuffled)
    ]
    with torch.no_grad():
        original, permuted = (model(j.to_batch()) for j in jets)
    assert not torch.equal(x, shuffled)
    torch.testing.assert_close(permuted, original, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(original, ORIGINAL_LOGITS, atol=1e-4, rtol=0)


@pytest.mark.parametrize(("training", "sorted_edges"), [(True, True), (False, True), (True, False)])
def test_fused_forward_equals_forward_and_gradients(training, sorted_edges):
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=6, hidden=16).double().train(training)
    if not training:  # non-trivial running statistics
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    batch = random_jets(20, seed=3).to_batch()  # includes one-track jets: tracks without incoming edges
    batch.x = batch.x.double()
    if not sorted_edges:  # the general gather; edge order changes no logit
        batch.edge_index = batch.edge_index[:, torch.randperm(batch.edge_index.shape[1])]
    assert (torch.bincount(batch.batch) == 1).any()
    outputs = []
    for forward in (model, lambda b: fused_forward(model, b)):
        model.zero_grad()
        logits = forward(batch)
        logits.pow(2).sum().backward()
        outputs.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(outputs[1][0], outputs[0][0], atol=1e-10, rtol=1e-10)
    for fused_grad, plain_grad in zip(outputs[1][1], outputs[0][1], strict=True):
        torch.testing.assert_close(fused_grad, plain_grad, atol=1e-10, rtol=1e-8)


def test_own_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=6, hidden=16).eval()
    save_checkpoint(tmp_path / "model.pt", model, epoch=3)
    loaded = load_checkpoint(tmp_path / "model.pt")
    batch = random_jets(5, seed=0).to_batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch))


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    torch.save(torch.nn.Linear(4, 2).state_dict(), tmp_path / "linear.pth")
    with pytest.raises(InputError, match=r"linear.pth: not a HIN checkpoint"):
        load_checkpoint(tmp_path / "linear.pth")


def test_checkpoint_with_a_wrong_shape_is_refused(tmp_path):
    state = InteractionNetwork(num_features=6, hidden=16).state_dict()
    state["node_mlp_2.0.weight"] = state["node_mlp_2.0.weight"][:, :-1]
    torch.save(state, tmp_path / "cut.pth")
    with pytest.raises(InputError, match=r"cut.pth: 'node_mlp_2.0.weight' has shape \(16, 21\)"):
        load_checkpoint(tmp_path / "cut.pth")


def test_missing_and_unreadable_checkpoints_are_refused(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
