"""Small relevance files built with RelevanceWriter: CMS-like jets with kinematics and truth, sanity jets."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from hepxai.data.schema import load_schema
from hepxai.explain.relevance_file import RelevanceWriter

matplotlib.use("Agg")

CMS_JETS = 8
SANITY_JETS = 6


def _jet_tables(
    jet_id: int, num_tracks: int, label: int, features: list[str], rng: np.random.Generator, kinematics: bool
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """One jet: relevance concentrated on two hard tracks and a few features, like a two-prong H->bb jet."""
    num_features = len(features)
    relevance = rng.normal(0.0, 0.01, size=(num_tracks, num_features))
    tracks = pd.DataFrame({"jet_id": jet_id, "track": np.arange(num_tracks)})
    if kinematics:
        pt = rng.exponential(8.0, size=num_tracks) + 1.0
        prongs = np.argsort(pt)[-2:]
        tracks["track_pt"] = pt
        tracks["track_etarel"] = rng.normal(0.0, 0.25, size=num_tracks)
        tracks["track_phirel"] = rng.normal(0.0, 0.25, size=num_tracks)
        tracks["track_isMu"] = (rng.random(num_tracks) < 0.1).astype(float)
        tracks["track_isEl"] = ((rng.random(num_tracks) < 0.1) & (tracks["track_isMu"] == 0)).astype(float)
        tracks["track_fromB"] = (rng.random(num_tracks) < (0.5 if label else 0.05)).astype(np.int8)
        tracks["track_pdgId"] = np.where(
            tracks["track_isMu"] > 0, 13, np.where(tracks["track_isEl"] > 0, 11, 211)
        )
        for name, scale in (("track_pt", 0.8), ("trackBTag_Sip3dSig", 0.6), ("track_dxysig", 0.4)):
            relevance[prongs, features.index(name)] += scale * (1 if label else -1)
        muons = tracks["track_isMu"].to_numpy() > 0
        relevance[muons, features.index("track_isMu")] += 0.5
    else:
        prongs = np.array([0, 1])
        relevance[:, 3] += rng.choice([-1.0, 1.0], size=num_tracks) * 0.5
    relevance[prongs] *= 1.5
    for i in range(num_features):
        tracks[f"relevance_{i}"] = relevance[:, i]
    prob_h = rng.beta(8, 1) if label else rng.beta(1, 8)
    logit_h = float(np.log(prob_h / (1 - prob_h)) / 2)
    jet = {
        "jet_id": jet_id,
        "label": label,
        "logit_QCD": -logit_h,
        "logit_H": logit_h,
        "prob_H": prob_h,
        "explained_logit": logit_h,
        "absorbed": logit_h - relevance.sum(),
    }
    if kinematics:
        jet |= {"fj_sdmass": rng.uniform(40, 200), "fj_pt": rng.uniform(300, 2000)}
    source, target = np.where(~np.eye(num_tracks, dtype=bool))
    norm = np.linalg.norm(relevance, axis=1)
    significance = norm[source] * norm[target]
    edges = pd.DataFrame(
        {
            "jet_id": jet_id,
            "source": source,
            "target": target,
            "significance": significance / significance.sum(),
        }
    )
    return jet, tracks, edges


def write_relevance_file(path: Path, *, kind: str, num_jets: int, seed: int = 0, edges: bool = True) -> Path:
    """Write a relevance file of ``kind`` "cms_hbb" (kinematics, leptons, truth) or "sanity" (f0..f47)."""
    schema = load_schema(kind)
    rng = np.random.default_rng(seed)
    features = list(schema.features)
    meta = {
        "method": "lrp_epsilon",
        "target": "H",
        "input": "standardized",
        "model": "test.pt",
        "schema": kind,
    }
    with RelevanceWriter(path, features, schema.display_names(), meta) as writer:
        for jet_id in range(num_jets):
            num_tracks = int(rng.integers(4, 25)) if kind == "cms_hbb" else 10
            jet, tracks, edge_table = _jet_tables(
                jet_id, num_tracks, jet_id % 2, features, rng, kinematics=kind == "cms_hbb"
            )
            tables = {"jets": pd.DataFrame([jet]), "tracks": tracks}
            if edges:
                tables["edges"] = edge_table
            writer.append(**tables)
    return path


@pytest.fixture(scope="session")
def cms_relevance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_relevance_file(
        tmp_path_factory.mktemp("cms") / "relevance.h5", kind="cms_hbb", num_jets=CMS_JETS
    )


@pytest.fixture(scope="session")
def sanity_relevance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_relevance_file(
        tmp_path_factory.mktemp("sanity") / "relevance.h5", kind="sanity", num_jets=SANITY_JETS, edges=False
    )
