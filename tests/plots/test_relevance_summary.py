import numpy as np
import pandas as pd
import pytest

from hepxai.explain.relevance_file import RelevanceWriter, read_relevance_file
from hepxai.explain.relevance_summary import jet_overview, summarize_relevance


@pytest.fixture
def tiny_relevance_file(tmp_path):
    """Two features; jet 0 (H): two tracks, jet 1 (QCD): one track."""
    path = tmp_path / "tiny.h5"
    jets = pd.DataFrame(
        {"jet_id": [0, 1], "label": [1, 0], "prob_H": [0.9, 0.2], "explained_logit": [1.0, -1.0]}
    )
    tracks = pd.DataFrame(
        {
            "jet_id": [0, 0, 1],
            "track": [0, 1, 0],
            "relevance_0": [3.0, 0.0, 0.0],
            "relevance_1": [-1.0, 4.0, 2.0],
            "track_pt": [10.0, 20.0, 5.0],
            "track_isMu": [0.0, 1.0, 0.0],
        }
    )
    with RelevanceWriter(path, ["a", "b"], ["a", "b"], {"target": "H"}) as writer:
        writer.append(jets=jets, tracks=tracks)
    return read_relevance_file(path)


@pytest.mark.parametrize("chunk_size", [1, 2, 200_000])  # 1 and 2 track rows: jets split over reads
def test_hand_computed_summary(tiny_relevance_file, chunk_size):
    summary = summarize_relevance(tiny_relevance_file, top_confident=1, chunk_size=chunk_size)
    # jet 0: |R| = [[3, 1], [0, 4]], total 8: feature shares 3/8 and 5/8; the pT 20 track (rank 1) holds 4/8
    np.testing.assert_allclose(summary.feature_share["H→bb"], [3 / 8, 5 / 8])
    np.testing.assert_allclose(summary.rank_share["H→bb"], [0.5, 0.5])
    # jet 1: one track, all on feature b; no track of rank 2
    np.testing.assert_allclose(summary.feature_share["QCD"], [0.0, 1.0])
    # by sign: jet 0 has +3 on a, +4 and -1 on b: positive shares 3/8, 4/8, net (3 - 0) / 8 and (4 - 1) / 8
    np.testing.assert_allclose(summary.feature_positive_share["H→bb"], [3 / 8, 4 / 8])
    np.testing.assert_allclose(summary.feature_net_share["H→bb"], [3 / 8, 3 / 8])
    np.testing.assert_allclose(summary.feature_net_share["QCD"], [0.0, 1.0])
    np.testing.assert_array_equal(summary.feature_net_error["H→bb"], [0.0, 0.0])  # one jet: no spread
    np.testing.assert_allclose(summary.rank_share["QCD"], [1.0, 0.0])
    # over an even split (share × tracks): jet 0's tracks hold 4/8 each of 2; jet 1's one track all of 1
    np.testing.assert_allclose(summary.rank_enrichment["H→bb"], [1.0, 1.0])
    np.testing.assert_allclose(summary.rank_enrichment["QCD"], [1.0, 0.0])
    assert summary.ranked_by == "track pT"
    # most relevant feature: jet 0 track 0 -> a, track 1 -> b; jet 1 track 0 -> b
    # the muon (jet 0, track 1) holds 4/8 of the relevance and is 1 of 2 tracks; QCD has no jet with a muon
    muon = summary.category_share.set_index(["class", "category"])
    assert muon.loc[("H→bb", "muon"), "relevance_share"] == pytest.approx(0.5)
    assert muon.loc[("H→bb", "muon"), "track_share"] == pytest.approx(0.5)
    assert muon.loc[("QCD", "muon"), "jets"] == 0
    assert set(summary.category_share["category"]) == {"muon"}
    assert muon.loc[("H→bb", "muon"), "relevance_share_error"] == 0.0  # one jet: no spread to measure
    # jets with a track of rank 1 and 2
    np.testing.assert_array_equal(summary.rank_jets["H→bb"], [1, 1])
    np.testing.assert_array_equal(summary.rank_jets["QCD"], [1, 0])
    # the most confident H jet, then the borderline one (P(H) = 0.2 is nearest 0.5); none misclassified
    assert summary.confident_jet_ids == [0, 1]
    assert summary.confident_group == ["confident", "borderline"]
    np.testing.assert_allclose(summary.confident_share, [[3 / 8, 5 / 8], [0.0, 1.0]])


@pytest.mark.parametrize("chunk_size", [1, 200_000])
def test_jet_overview(tiny_relevance_file, chunk_size):
    table = jet_overview(tiny_relevance_file, chunk_size=chunk_size)
    assert list(table["jet_id"]) == [0, 1]
    assert list(table["tracks"]) == [2, 1]
    assert list(table["top_feature"]) == ["b", "b"]


def test_sanity_summary_ranks_by_position(sanity_relevance_path):
    summary = summarize_relevance(read_relevance_file(sanity_relevance_path))
    assert summary.ranked_by == "track position"
    assert summary.category_share.empty
    # the fixture puts the relevance on f3
    assert all(np.argmax(share) == 3 for share in summary.feature_share.values())
    assert sum(summary.num_jets.values()) == 6


@pytest.mark.parametrize("jet_ids", [None, [1, 4, 5, 9, 30]])
def test_summary_read_in_chunks_equals_one_read(cms_relevance_path, jet_ids):
    relevance_file = read_relevance_file(cms_relevance_path)
    whole = summarize_relevance(relevance_file, jet_ids=jet_ids, chunk_size=10**9)
    chunked = summarize_relevance(relevance_file, jet_ids=jet_ids, chunk_size=7)
    for name in ("feature_share", "feature_net_share", "rank_share", "rank_enrichment"):
        for label in getattr(whole, name):
            np.testing.assert_allclose(getattr(chunked, name)[label], getattr(whole, name)[label], rtol=1e-12)
    pd.testing.assert_frame_equal(chunked.category_share, whole.category_share, rtol=1e-12)
    np.testing.assert_allclose(chunked.confident_share, whole.confident_share, rtol=1e-12)
    assert (chunked.num_jets, chunked.confident_jet_ids) == (whole.num_jets, whole.confident_jet_ids)
    pd.testing.assert_frame_equal(
        jet_overview(relevance_file, chunk_size=7), jet_overview(relevance_file, chunk_size=10**9)
    )


def test_repeated_inputs_are_one_feature_whose_shares_add(tmp_path):
    """Features a, b, a (the schema repeats a); two H jets of one track each."""
    path = tmp_path / "repeated.h5"
    jets = pd.DataFrame({"jet_id": [0, 1], "label": [1, 1], "prob_H": [0.9, 0.8]})
    tracks = pd.DataFrame(
        {"jet_id": [0, 1], "track": [0, 0], "relevance_0": [1.0, 0.0], "relevance_1": [-1.0, 2.0]}
        | {"relevance_2": [2.0, -2.0]}
    )
    with RelevanceWriter(path, ["a", "b", "a"], ["a", "b", "a (2)"], {"target": "H"}) as writer:
        writer.append(jets=jets, tracks=tracks)
    summary = summarize_relevance(read_relevance_file(path), top_confident=1)
    assert summary.feature_names == ["a", "b"]
    # |R| shares: jet 0 a (1 + 2) / 4, b 1 / 4; jet 1 a 2 / 4, b 2 / 4, as the unmerged columns summed
    np.testing.assert_allclose(summary.feature_share["H→bb"], [(0.75 + 0.5) / 2, (0.25 + 0.5) / 2])
    # net ΣR / Σ|R|: jet 0 a 3/4, b -1/4; jet 1 a -2/4, b 2/4; standard errors |x0 - x1| / 2
    np.testing.assert_allclose(summary.feature_net_share["H→bb"], [0.125, 0.125])
    np.testing.assert_allclose(summary.feature_net_error["H→bb"], [1.25 / 2, 0.75 / 2])
    np.testing.assert_allclose(summary.feature_positive_share["H→bb"], [0.75 / 2, 0.5 / 2])
    np.testing.assert_allclose(summary.confident_share, [[0.75, 0.25], [0.5, 0.5]])  # confident, borderline


def test_rank_enrichment_over_an_even_split_with_its_standard_error(tmp_path):
    """Jet 0: the harder of two tracks holds 3/4 of |R|; jet 1: one track."""
    path = tmp_path / "ranks.h5"
    jets = pd.DataFrame({"jet_id": [0, 1], "label": [1, 1], "prob_H": [0.9, 0.8]})
    tracks = pd.DataFrame(
        {
            "jet_id": [0, 0, 1],
            "track": [0, 1, 0],
            "relevance_0": [1.0, -3.0, 2.0],
            "track_pt": [1.0, 9.0, 5.0],
        }
    )
    with RelevanceWriter(path, ["a"], ["a"], {"target": "H"}) as writer:
        writer.append(jets=jets, tracks=tracks)
    summary = summarize_relevance(read_relevance_file(path), top_confident=1)
    # rank 1: jet 0 3/4 × 2 = 1.5, jet 1 1 × 1 = 1: mean 1.25, standard error |1.5 - 1| / 2; rank 2: one jet
    np.testing.assert_allclose(summary.rank_enrichment["H→bb"], [1.25, 0.5])
    np.testing.assert_allclose(summary.rank_enrichment_error["H→bb"], [0.25, 0.0])
    np.testing.assert_array_equal(summary.rank_jets["H→bb"], [2, 1])


def test_the_report_draws_every_jet_of_the_confident_view_and_the_surest_qcd_jets(cms_relevance_path):
    from hepxai.pipeline import showcase_jets

    relevance_file = read_relevance_file(cms_relevance_path)
    jet_ids = showcase_jets(relevance_file, 2)
    summary = summarize_relevance(relevance_file, top_confident=2)
    assert "borderline" in summary.confident_group
    assert set(summary.confident_jet_ids) <= set(jet_ids)  # confident, borderline, misclassified
    assert set(relevance_file.jets.nsmallest(2, "prob_H")["jet_id"]) <= set(jet_ids)
    assert len(jet_ids) == len(set(jet_ids))
