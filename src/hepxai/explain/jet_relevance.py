"""One jet's explanation arranged for pictures: tracks by increasing pT, edges, lepton and truth flags.

Also chooses which jets of a relevance file to show (:func:`select_jets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hepxai.errors import InputError
from hepxai.explain.relevance_file import RelevanceFile


@dataclass(frozen=True)
class JetRelevance:
    """The relevance of one jet, tracks ordered by increasing ``track_pt`` (by position without pT)."""

    jet_id: int
    label: int | None  # 1 = H, 0 = QCD, None if unknown
    prob_h: float | None  # the model's P(H)
    target: str  # what was explained ("H", "QCD", "H-QCD")
    feature_names: list[str]  # [num_features] input names in schema order (repeated inputs repeat)
    relevance: np.ndarray  # [num_tracks, num_features]
    track: np.ndarray  # [num_tracks] position of each track in the jet
    pt: np.ndarray | None  # [num_tracks] track pT in GeV
    etarel: np.ndarray | None  # [num_tracks]
    phirel: np.ndarray | None  # [num_tracks]
    is_muon: np.ndarray | None  # [num_tracks] bool
    is_electron: np.ndarray | None  # [num_tracks] bool
    from_b: np.ndarray | None  # [num_tracks] bool, truth: descends from a b hadron
    edge_source: np.ndarray  # [num_edges] index into the ordered tracks
    edge_target: np.ndarray  # [num_edges]
    edge_significance: np.ndarray  # [num_edges]
    explained_logit: float | None  # the number the relevance explains (the logit of ``target``)
    absorbed: float | None  # what biases and ε took: Σ relevance + absorbed = explained logit
    log_odds: float | None  # logit_H − logit_QCD, the decision between the two classes
    # The jet's top relevant walks source → target → jet (hepxai explain --walks K), None without:
    walk_source: np.ndarray | None = None  # [num_walks] index into the ordered tracks
    walk_target: np.ndarray | None = None  # [num_walks]; equal to walk_source for a self walk
    walk_relevance: np.ndarray | None = None  # [num_walks] signed, largest |relevance| first

    def __post_init__(self) -> None:
        num_tracks = len(self.track)
        if self.relevance.shape != (num_tracks, len(self.feature_names)):
            msg = (
                f"jet {self.jet_id}: relevance has shape {self.relevance.shape}, "
                f"expected ({num_tracks}, {len(self.feature_names)})"
            )
            raise InputError(msg)

    @property
    def num_tracks(self) -> int:
        return len(self.track)

    @property
    def has_kinematics(self) -> bool:
        """Whether track pT, eta and phi relative to the jet axis are known."""
        return self.pt is not None and self.etarel is not None and self.phirel is not None

    @property
    def node_relevance(self) -> np.ndarray:
        """``[num_tracks]`` L2 norm of each track's relevance over features."""
        return np.linalg.norm(self.relevance, axis=1)

    @property
    def label_name(self) -> str:
        return {1: "H", 0: "QCD"}.get(self.label, "unknown")

    @property
    def caption(self) -> str:
        """``jet 17: true H, P(H) = 0.998``; near 0 and 1 with the digits that matter (``1 − 3e-05``)."""
        if self.prob_h is None:
            prob = "P(H) unknown"
        elif self.prob_h > 0.999:
            prob = f"P(H) = 1 − {1 - self.prob_h:.0e}"
        elif self.prob_h < 0.001:
            prob = f"P(H) = {self.prob_h:.0e}"
        else:
            prob = f"P(H) = {self.prob_h:.3f}"
        return f"jet {self.jet_id}: true {self.label_name}, {prob}"

    @property
    def decision(self) -> str:
        """What the relevance explains, and how much of it: ``explains logit H = 5.77 (log-odds H − QCD
        11.6); ΣR = 0.92, absorbed 4.85``. Relevance that absorbs most of the logit, or sums to the opposite
        sign, explains little of the decision; the figures say so."""
        if self.explained_logit is None:
            return f"explains logit {self.target}"
        text = f"explains logit {self.target} = {self.explained_logit:.3g}"
        if self.log_odds is not None and self.target != "H-QCD":
            text += f" (log-odds H − QCD {self.log_odds:.3g})"
        total = float(self.relevance.sum())
        text += f"; ΣR = {total:.3g}"
        if self.absorbed is not None:
            text += f", absorbed {self.absorbed:.3g}"
        if total * self.explained_logit < 0:
            text += ": ΣR opposes the logit"
        return text

    @property
    def title(self) -> str:
        """The caption, then on a second line the decision explained."""
        return f"{self.caption}\n{self.decision}"

    def track_labels(self) -> list[str]:
        """Each track's position in the jet, with ``μ`` for muons and ``e`` for electrons."""
        labels = [str(t) for t in self.track]
        for flags, tag in ((self.is_muon, "μ"), (self.is_electron, "e")):
            if flags is not None:
                labels = [
                    f"{label} {tag}" if flag else label for label, flag in zip(labels, flags, strict=True)
                ]
        return labels

    def significant_edges(self, threshold: float | None = None) -> np.ndarray:
        """``[num_edges]`` bool: significance above ``threshold`` (default: the top 2% of the jet's edges)."""
        if len(self.edge_significance) == 0:
            return np.zeros(0, dtype=bool)
        if threshold is None:
            threshold = float(np.quantile(self.edge_significance, 0.98))
            return self.edge_significance >= threshold
        return self.edge_significance > threshold


def jet_relevance(relevance_file: RelevanceFile, jet_id: int) -> JetRelevance:
    """Gather one jet's tracks and edges from a relevance file.

    Raises:
        InputError: the jet is not in the file.
    """
    tracks, edges = relevance_file.jet(jet_id)
    tracks = tracks.sort_values("track")
    if "track_pt" in tracks:
        tracks = tracks.sort_values("track_pt", kind="stable")
    position = tracks["track"].to_numpy()
    order_of = np.zeros(position.max() + 1 if len(position) else 0, dtype=int)
    order_of[position] = np.arange(len(position))
    row = relevance_file.jets.loc[relevance_file.jets["jet_id"] == jet_id].iloc[0]
    walks = relevance_file.jet_walks(jet_id) if relevance_file.has_walks else None

    def column(name: str, dtype: type = float) -> np.ndarray | None:
        return tracks[name].to_numpy().astype(dtype) if name in tracks else None

    return JetRelevance(
        jet_id=int(jet_id),
        label=int(row["label"]) if "label" in row and row["label"] >= 0 else None,
        prob_h=float(row["prob_H"]) if "prob_H" in row else None,
        target=str(relevance_file.meta.get("target", "H")),
        feature_names=list(relevance_file.feature_names),
        relevance=tracks[relevance_file.relevance_columns].to_numpy(dtype=float),
        track=position,
        pt=column("track_pt"),
        etarel=column("track_etarel"),
        phirel=column("track_phirel"),
        is_muon=column("track_isMu", bool),
        is_electron=column("track_isEl", bool),
        from_b=column("track_fromB", bool),
        edge_source=order_of[edges["source"].to_numpy(dtype=int)],
        edge_target=order_of[edges["target"].to_numpy(dtype=int)],
        edge_significance=edges["significance"].to_numpy(dtype=float),
        explained_logit=_number(row, "explained_logit"),
        absorbed=_number(row, "absorbed"),
        log_odds=float(row["logit_H"] - row["logit_QCD"])
        if {"logit_H", "logit_QCD"} <= set(row.index)
        else None,
        walk_source=None if walks is None else order_of[walks["source"].to_numpy(dtype=int)],
        walk_target=None if walks is None else order_of[walks["target"].to_numpy(dtype=int)],
        walk_relevance=None if walks is None else walks["relevance"].to_numpy(dtype=float),
    )


def _number(row: pd.Series, name: str) -> float | None:
    return float(row[name]) if name in row else None


def select_jets(
    relevance_file: RelevanceFile, *, jet_ids: Sequence[int] | None = None, top_confident: int | None = None
) -> list[int]:
    """Jet ids to show: the given ones, the ``top_confident`` with the highest P(H), or all, in file order.

    Raises:
        InputError: the selection is empty (an unknown jet id, ``top_confident`` < 1, or a file without jets).
    """
    known = relevance_file.jets["jet_id"].astype(int).tolist()
    if not known:
        msg = "no jets to show: the relevance file has no jets"
        raise InputError(msg)
    if jet_ids:
        missing = sorted(set(jet_ids) - set(known))
        if missing:
            msg = (
                f"no jet {', '.join(map(str, missing[:5]))} in the relevance file "
                f"(it has {len(known)} jets, ids {min(known)} to {max(known)})"
            )
            raise InputError(msg)
        selected = list(dict.fromkeys(int(j) for j in jet_ids))
    else:
        selected = known
    if top_confident is not None:
        if top_confident < 1:
            msg = f"no jets to show: --top-confident must be at least 1 (got {top_confident})"
            raise InputError(msg)
        jets = relevance_file.jets[relevance_file.jets["jet_id"].isin(selected)]
        ranked = jets.sort_values("prob_H", ascending=False, kind="stable")
        selected = ranked["jet_id"].astype(int).tolist()[:top_confident]
    return selected
