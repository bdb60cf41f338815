"""Dataset summaries merge: a relevance dataset cut into parts gives the summary of the whole file, from
per-part sums, counts, rank histograms and showcase candidates."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from hepxai.explain.relevance_file import RelevanceWriter, read_relevance_file
from hepxai.explain.relevance_parts import Part, PartIndex, part_name, write_index
from hepxai.explain.relevance_summary import jet_overview, summarize_relevance

from .conftest import write_relevance_file

NUM_JETS = 60
CUTS = (0, 7, 26, 27, 60)  # parts of 7, 19, 1 and 33 jets


@pytest.fixture(scope="module")
def whole_and_parts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary_parts")
    made = read_relevance_file(write_relevance_file(folder / "made.h5", kind="cms_hbb", num_jets=NUM_JETS))
    tracks, edges, jets = made.tracks, made.edges, made.jets.copy()
    # Every fifth jet misclassified, and ties in P(H) across parts (the jet table's order breaks them).
    jets.loc[::5, "prob_H"] = 1 - jets.loc[::5, "prob_H"]
    jets.loc[[8, 30, 45], "prob_H"] = jets.loc[3, "prob_H"]
    jets.loc[[2, 41], "prob_H"] = 0.5
    with RelevanceWriter(folder / "whole.h5", made.feature_names, made.display_names, made.meta) as writer:
        writer.append(jets=jets, tracks=tracks, edges=edges)
    whole = read_relevance_file(folder / "whole.h5")
    parts = []
    for index, (first, stop) in enumerate(itertools.pairwise(CUTS)):
        name = part_name(index)
        with RelevanceWriter(
            folder / "parts" / name, whole.feature_names, whole.display_names, whole.meta
        ) as w:
            w.append(
                jets=jets[jets["jet_id"].between(first, stop - 1)],
                tracks=tracks[tracks["jet_id"].between(first, stop - 1)],
                edges=edges[edges["jet_id"].between(first, stop - 1)],
            )
        parts.append(Part(name, "whole.root", first, stop, first, stop - first))
    write_index(folder / "parts", PartIndex(parts, {}, complete=True))
    return whole, read_relevance_file(folder / "parts")


def assert_same_summary(got, expected) -> None:
    for field in dataclasses.fields(expected):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if isinstance(b, dict):
            assert a.keys() == b.keys(), field.name
            for key in b:
                np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-12, err_msg=field.name)
        elif isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, rtol=1e-10)
        elif isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=field.name)
        else:
            assert a == b, field.name


@pytest.mark.parametrize("top_confident", [1, 4, 10])
def test_parts_summary_equals_the_whole_file(whole_and_parts, top_confident):
    whole, parts = whole_and_parts
    assert len(parts.parts) == 4
    expected = summarize_relevance(whole, top_confident=top_confident)
    assert not expected.category_share.empty  # muons, electrons and b tracks are there to merge
    assert "misclassified" in expected.confident_group
    assert_same_summary(summarize_relevance(parts, top_confident=top_confident, chunk_size=50), expected)


def test_parts_summary_of_chosen_jets(whole_and_parts):
    whole, parts = whole_and_parts
    jet_ids = list(range(3, 50, 3))
    expected = summarize_relevance(whole, jet_ids=jet_ids, top_confident=3)
    assert_same_summary(summarize_relevance(parts, jet_ids=jet_ids, top_confident=3), expected)


def test_parts_read_as_one_file(whole_and_parts):
    whole, parts = whole_and_parts
    pd.testing.assert_frame_equal(parts.jets, whole.jets)
    pd.testing.assert_frame_equal(parts.tracks, whole.tracks)
    pd.testing.assert_frame_equal(parts.edges, whole.edges)
    pd.testing.assert_frame_equal(pd.concat(parts.iter_tracks(37)), whole.tracks)
    for jet_id in (0, 6, 7, 26, 59):  # first and last jets of parts
        for got, expected in zip(parts.jet(jet_id), whole.jet(jet_id), strict=True):
            pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(jet_overview(parts, max_jets=12), jet_overview(whole, max_jets=12))


def test_dask_dataframe_reads_the_parts(whole_and_parts):
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] (pyarrow) is not installed")
    whole, parts = whole_and_parts
    tracks = dd.read_hdf(str(parts.path / "part-*.h5"), "tracks").compute()
    pd.testing.assert_frame_equal(tracks.reset_index(drop=True), whole.tracks)
