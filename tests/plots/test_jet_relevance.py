import dataclasses

import numpy as np
import pytest

from hepxai.errors import InputError
from hepxai.explain.jet_relevance import jet_relevance, select_jets
from hepxai.explain.relevance_file import read_relevance_file


def test_tracks_ordered_by_increasing_pt_with_edges_following(cms_relevance_path):
    relevance_file = read_relevance_file(cms_relevance_path)
    jet = jet_relevance(relevance_file, 3)
    tracks, edges = relevance_file.jet(3)
    assert np.all(np.diff(jet.pt) >= 0)
    assert sorted(jet.track) == sorted(tracks["track"])
    by_position = tracks.set_index("track")
    # each row of the ordered jet is the file's row of the track at that position
    np.testing.assert_allclose(jet.relevance, by_position.loc[jet.track, relevance_file.relevance_columns])
    np.testing.assert_array_equal(jet.track[jet.edge_source], edges["source"])
    np.testing.assert_array_equal(jet.track[jet.edge_target], edges["target"])
    assert jet.has_kinematics
    assert jet.caption.startswith("jet 3: true H, P(H) = ")


def test_sanity_jet_without_kinematics_or_edges(sanity_relevance_path):
    jet = jet_relevance(read_relevance_file(sanity_relevance_path), 2)
    assert not jet.has_kinematics
    assert jet.pt is None
    assert jet.is_muon is None
    assert jet.from_b is None
    np.testing.assert_array_equal(jet.track, np.arange(10))
    assert len(jet.edge_significance) == 0
    assert len(jet.significant_edges()) == 0
    assert jet.feature_names[3] == "f3"


def test_track_labels_mark_leptons(cms_relevance_path):
    jet = jet_relevance(read_relevance_file(cms_relevance_path), 1)
    labels = jet.track_labels()
    assert [label.endswith(" μ") for label in labels] == list(jet.is_muon)
    assert [label.endswith(" e") for label in labels] == list(jet.is_electron)


def test_significant_edges_default_is_top_two_percent(cms_relevance_path):
    jet = jet_relevance(read_relevance_file(cms_relevance_path), 1)
    mask = jet.significant_edges()
    assert 1 <= mask.sum() <= np.ceil(0.02 * len(mask)) + 1
    assert jet.edge_significance[mask].min() >= jet.edge_significance[~mask].max()
    assert not jet.significant_edges(1.0).any()


def test_select_top_confident(cms_relevance_path):
    relevance_file = read_relevance_file(cms_relevance_path)
    chosen = select_jets(relevance_file, top_confident=3)
    prob = relevance_file.jets.set_index("jet_id")["prob_H"]
    assert list(prob.loc[chosen]) == sorted(prob, reverse=True)[:3]
    assert select_jets(relevance_file, jet_ids=[4, 2, 4]) == [4, 2]
    assert select_jets(relevance_file, jet_ids=[0, 2, 4], top_confident=1) == [
        int(prob.loc[[0, 2, 4]].idxmax())
    ]


@pytest.mark.parametrize(
    ("jet_ids", "top_confident", "message"),
    [([99], None, "no jet 99 in the relevance file"), (None, 0, "--top-confident must be at least 1")],
)
def test_empty_selection_is_a_one_line_input_error(cms_relevance_path, jet_ids, top_confident, message):
    with pytest.raises(InputError, match=message) as error:
        select_jets(read_relevance_file(cms_relevance_path), jet_ids=jet_ids, top_confident=top_confident)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("prob_h", "text"), [(0.8731, "P(H) = 0.873"), (1 - 3e-5, "P(H) = 1 − 3e-05"), (2e-6, "P(H) = 2e-06")]
)
def test_caption_shows_the_digits_that_matter(cms_relevance_path, prob_h, text):
    jet = jet_relevance(read_relevance_file(cms_relevance_path), 3)
    assert dataclasses.replace(jet, prob_h=prob_h).caption == f"jet 3: true H, {text}"


def test_title_names_the_explained_logit_its_relevance_and_what_was_absorbed(cms_relevance_path):
    relevance_file = read_relevance_file(cms_relevance_path)
    jet = jet_relevance(relevance_file, 3)
    row = relevance_file.jets.set_index("jet_id").loc[3]
    lines = jet.title.split("\n")
    assert lines[0] == jet.caption
    assert f"logit {jet.target} = {row['explained_logit']:.3g}" in lines[1]
    assert f"ΣR = {jet.relevance.sum():.3g}" in lines[1]
    assert f"absorbed {row['absorbed']:.3g}" in lines[1]
    if jet.target != "H-QCD":
        assert f"log-odds H − QCD {row['logit_H'] - row['logit_QCD']:.3g}" in lines[1]
    opposed = dataclasses.replace(jet, explained_logit=-np.sign(jet.relevance.sum()) or 1.0)
    assert opposed.decision.endswith("ΣR opposes the logit")
    assert "opposes" not in dataclasses.replace(jet, explained_logit=float(jet.relevance.sum())).decision
