"""Dataset-level views of many explained jets: where the relevance goes, for signal and for background.

Every share is taken within a jet (a part of the jet's total |relevance|) and then averaged over jets, so jets
with large and small logits count alike. An input the schema repeats (the CMS inputs hold ``track_pt``,
``track_ptrel`` and ``track_dlambdadz`` twice) is one feature here: its copies' relevance is added, so the
model's use of a quantity is not split over two rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hepxai.explain.relevance_file import RelevanceFile

CLASS_NAMES = {1: "H→bb", 0: "QCD"}
TRACK_CATEGORIES = {"muon": "track_isMu", "electron": "track_isEl", "b-hadron decay": "track_fromB"}


@dataclass(frozen=True)
class RelevanceSummary:
    """Relevance aggregated over the jets of a relevance file, per class (``CLASS_NAMES`` values)."""

    feature_names: list[str]  # [num_features] distinct input names, repeated inputs merged
    target: str  # what was explained
    num_jets: dict[str, int]  # class -> jets
    feature_share: dict[str, np.ndarray]  # class -> [num_features] mean share of the jet's |relevance|
    feature_positive_share: dict[str, np.ndarray]  # class -> [num_features] the part of it from relevance
    # > 0 (pushing the explained logit up); the rest, feature_share − feature_positive_share, pushes it down
    feature_net_share: dict[
        str, np.ndarray
    ]  # class -> [num_features] mean of the jet's ΣR / Σ|R| per feature
    feature_net_error: dict[str, np.ndarray]  # class -> [num_features] its standard error over jets
    rank_share: dict[str, np.ndarray]  # class -> [max_rank] mean share on the track of that rank, over
    # the jets that have one
    rank_jets: dict[str, np.ndarray]  # class -> [max_rank] jets that have a track of that rank
    rank_enrichment: dict[str, np.ndarray]  # class -> [max_rank] mean of share × the jet's track count: the
    # track's relevance over the uniform 1/N, over the jets that have one (1: no preference)
    rank_enrichment_error: dict[str, np.ndarray]  # class -> [max_rank] its standard error over those jets
    ranked_by: str  # "track pT" (rank 1 = hardest) or "track position"
    category_share: pd.DataFrame  # class, category, jets, relevance_share, track_share and their standard
    # errors relevance_share_error, track_share_error (0 for one jet); may be empty
    confident_jet_ids: list[int]  # the jets with the highest P(H), most confident first, then the
    # borderline (P(H) nearest 0.5) and the most confidently misclassified jets
    confident_group: list[str]  # [num_confident] "confident", "borderline" or "misclassified"
    confident_prob_h: np.ndarray  # [num_confident]
    confident_labels: np.ndarray  # [num_confident] 1 = H, 0 = QCD
    confident_share: np.ndarray  # [num_confident, num_features] each jet's feature shares


@dataclass(frozen=True)
class SummaryPart:
    """The mergeable partial aggregates of some jets: sums, counts, rank histograms and the candidates of
    the showcase view (a top-k of each kind), so a dataset is summarised part by part and never held whole.

    :func:`merge_summary_parts` adds two; :func:`finish_summary` turns the total into a
    :class:`RelevanceSummary`. Every field is keyed by the class label (1 = H, 0 = QCD).
    """

    num_jets: dict[int, int]
    share_sum: dict[int, np.ndarray]  # [num_features] Σ over jets of the feature shares
    positive_sum: dict[int, np.ndarray]
    net_sum: dict[int, np.ndarray]
    net_square_sum: dict[int, np.ndarray]
    rank_sum: dict[int, np.ndarray]  # [max_rank] Σ share of the track of that rank
    jets_with_rank: dict[int, np.ndarray]
    enrichment_sum: dict[int, np.ndarray]
    enrichment_square_sum: dict[int, np.ndarray]
    category: dict[tuple[str, int], np.ndarray]  # (category, label) -> [5] jets with such a track,
    # Σ and Σ² of their relevance share, Σ and Σ² of their track share
    candidates: pd.DataFrame  # jet rows that may enter the showcase view (:func:`showcase_candidates`)
    candidate_share: pd.DataFrame  # [candidates, num_features] their feature shares, indexed by jet_id


def summarize_relevance(
    relevance_file: RelevanceFile,
    *,
    jet_ids: Sequence[int] | None = None,
    top_confident: int = 10,
    chunk_size: int = 200_000,
) -> RelevanceSummary:
    """Summarise the relevance of the jets ``jet_ids`` (default: all) of a relevance file or part dataset.

    Each part is summarised on its own (:func:`summarize_part`) and the partial aggregates are merged, so
    memory holds one part's jet table and ``chunk_size`` track rows, whatever the size of the dataset.

    Args:
        relevance_file: What :func:`hepxai.explain.relevance_file.read_relevance_file` returns.
        jet_ids: The jets to include.
        top_confident: How many of the jets with the highest P(H) to keep for the "most confident" view.
        chunk_size: Track rows read at once.
    """
    total = None
    for part in relevance_file.part_files():
        partial = summarize_part(part, jet_ids=jet_ids, top_confident=top_confident, chunk_size=chunk_size)
        total = partial if total is None else merge_summary_parts(total, partial)
    feature_names, _ = merge_repeated_features(relevance_file.feature_names)
    ranked_by = "track pT" if "track_pt" in relevance_file.track_columns else "track position"
    return finish_summary(
        total,  # type: ignore[arg-type]  (a relevance file has at least one part)
        feature_names=feature_names,
        target=str(relevance_file.meta.get("target", "H")),
        ranked_by=ranked_by,
        top_confident=top_confident,
    )


def summarize_part(
    relevance_file: RelevanceFile,
    *,
    jet_ids: Sequence[int] | None = None,
    top_confident: int = 10,
    chunk_size: int = 200_000,
) -> SummaryPart:
    """The partial aggregates of the jets of one relevance file (one part of a dataset).

    Tracks are read ``chunk_size`` rows at a time (whole jets per chunk); only per-class sums and the
    showcase candidates are kept.
    """
    jets = relevance_file.jets
    if jet_ids is not None:
        jets = jets[jets["jet_id"].isin(jet_ids)]
    labels = jets.set_index("jet_id")["label"] if "label" in jets else pd.Series(-1, index=jets["jet_id"])
    candidates = showcase_candidates(jets, top_confident)
    candidate_ids = set(candidates["jet_id"].astype(int))
    ranked_by = "track pT" if "track_pt" in relevance_file.track_columns else "track position"
    _, merge = merge_repeated_features(relevance_file.feature_names)
    num_features = merge.shape[1]
    share_sum = {label: np.zeros(num_features) for label in CLASS_NAMES}
    positive_sum = {label: np.zeros(num_features) for label in CLASS_NAMES}
    net_sum = {label: np.zeros(num_features) for label in CLASS_NAMES}
    net_square_sum = {label: np.zeros(num_features) for label in CLASS_NAMES}
    rank_sum = {label: np.zeros(0) for label in CLASS_NAMES}
    jets_with_rank = {label: np.zeros(0, dtype=np.int64) for label in CLASS_NAMES}
    enrichment_sum = {label: np.zeros(0) for label in CLASS_NAMES}
    enrichment_square_sum = {label: np.zeros(0) for label in CLASS_NAMES}
    category: dict[tuple[str, int], np.ndarray] = {}
    candidate_rows = []

    for tracks in relevance_file.iter_tracks(chunk_size):
        if jet_ids is not None:
            tracks = tracks[tracks["jet_id"].isin(jet_ids)]
        if not len(tracks):
            continue
        relevance = tracks[relevance_file.relevance_columns].to_numpy(dtype=float)
        magnitude, positive = np.abs(relevance) @ merge, np.clip(relevance, 0.0, None) @ merge
        track_total = magnitude.sum(axis=1)
        jet_of_track = tracks["jet_id"].to_numpy()
        jet_total = pd.Series(track_total).groupby(jet_of_track).transform("sum").to_numpy()
        track_share = _divide(track_total, jet_total)
        enrichment = track_share * pd.Series(jet_of_track).groupby(jet_of_track).transform("size").to_numpy()
        jet_feature = pd.DataFrame(magnitude).groupby(jet_of_track).sum()
        jet_norm = jet_feature.sum(axis=1).replace(0.0, np.inf)
        feature_share_rows = jet_feature.div(jet_norm, axis=0)
        positive_rows = pd.DataFrame(positive).groupby(jet_of_track).sum().div(jet_norm, axis=0).to_numpy()
        net_rows = 2 * positive_rows - feature_share_rows.to_numpy()  # (positive − negative) / Σ|R|
        track_label = labels.reindex(jet_of_track).to_numpy()
        jet_label = labels.reindex(feature_share_rows.index).to_numpy()
        order_key = (
            -tracks["track_pt"].to_numpy(dtype=float)
            if ranked_by == "track pT"
            else tracks["track"].to_numpy(dtype=float)
        )
        rank = pd.Series(order_key).groupby(jet_of_track).rank(method="first").to_numpy().astype(int)
        for label in CLASS_NAMES:
            in_class = jet_label == label
            share_sum[label] += feature_share_rows[in_class].to_numpy().sum(axis=0)
            positive_sum[label] += positive_rows[in_class].sum(axis=0)
            net_sum[label] += net_rows[in_class].sum(axis=0)
            net_square_sum[label] += (net_rows[in_class] ** 2).sum(axis=0)
            track_mask = track_label == label
            rank_sum[label] = _add(
                rank_sum[label], np.bincount(rank[track_mask] - 1, track_share[track_mask])
            )
            jets_with_rank[label] = _add(jets_with_rank[label], np.bincount(rank[track_mask] - 1))
            ranked = rank[track_mask] - 1, enrichment[track_mask]
            enrichment_sum[label] = _add(enrichment_sum[label], np.bincount(ranked[0], ranked[1]))
            enrichment_square_sum[label] = _add(
                enrichment_square_sum[label], np.bincount(ranked[0], ranked[1] ** 2)
            )
        candidate_rows.append(feature_share_rows[feature_share_rows.index.isin(candidate_ids)])
        for name, per_jet in _category_per_jet(tracks, track_share, jet_of_track).items():
            for label in CLASS_NAMES:
                chosen = per_jet[
                    (labels.reindex(per_jet.index).to_numpy() == label) & (per_jet["tracks_flagged"] > 0)
                ]
                relevance_share = chosen["relevance_share"].to_numpy(dtype=float)
                count_share = chosen["count_share"].to_numpy(dtype=float)
                sums = np.array(
                    [
                        len(chosen),
                        relevance_share.sum(),
                        (relevance_share**2).sum(),
                        count_share.sum(),
                        (count_share**2).sum(),
                    ]
                )
                category[name, label] = category.get((name, label), np.zeros(5)) + sums

    return SummaryPart(
        num_jets={label: int((labels.to_numpy() == label).sum()) for label in CLASS_NAMES},
        share_sum=share_sum,
        positive_sum=positive_sum,
        net_sum=net_sum,
        net_square_sum=net_square_sum,
        rank_sum=rank_sum,
        jets_with_rank=jets_with_rank,
        enrichment_sum=enrichment_sum,
        enrichment_square_sum=enrichment_square_sum,
        category=category,
        candidates=candidates,
        candidate_share=pd.concat(candidate_rows)
        if candidate_rows
        else pd.DataFrame(columns=range(num_features), dtype=float),
    )


def merge_summary_parts(first: SummaryPart, second: SummaryPart) -> SummaryPart:
    """The aggregates of the jets of both parts (the parts hold different jets)."""

    def add(a: dict, b: dict) -> dict:
        return {
            key: _add(a[key], b[key]) if key in a and key in b else a.get(key, b.get(key))
            for key in {**a, **b}
        }

    return SummaryPart(
        num_jets={label: first.num_jets[label] + second.num_jets[label] for label in CLASS_NAMES},
        share_sum=add(first.share_sum, second.share_sum),
        positive_sum=add(first.positive_sum, second.positive_sum),
        net_sum=add(first.net_sum, second.net_sum),
        net_square_sum=add(first.net_square_sum, second.net_square_sum),
        rank_sum=add(first.rank_sum, second.rank_sum),
        jets_with_rank=add(first.jets_with_rank, second.jets_with_rank),
        enrichment_sum=add(first.enrichment_sum, second.enrichment_sum),
        enrichment_square_sum=add(first.enrichment_square_sum, second.enrichment_square_sum),
        category=add(first.category, second.category),
        candidates=pd.concat([first.candidates, second.candidates]),
        candidate_share=pd.concat([first.candidate_share, second.candidate_share]),
    )


def finish_summary(
    total: SummaryPart, *, feature_names: list[str], target: str, ranked_by: str, top_confident: int
) -> RelevanceSummary:
    """Means, standard errors and the showcase view from the merged aggregates of all jets."""
    num_features = len(feature_names)
    # The jet table's order, one index over all parts (each part's table has its own 0-based index).
    candidates = total.candidates.sort_values("jet_id", kind="stable").reset_index(drop=True)
    confident, groups = showcase(candidates, top_confident)
    confident_ids = confident["jet_id"].astype(int).tolist()
    num_jets, feature_share, positive_share, net_share, net_error, rank_share = {}, {}, {}, {}, {}, {}
    enrichment_mean, enrichment_error = {}, {}
    for label, name in CLASS_NAMES.items():
        count = num_jets[name] = total.num_jets[label]
        feature_share[name] = total.share_sum[label] / max(count, 1)
        positive_share[name] = total.positive_sum[label] / max(count, 1)
        net_share[name] = total.net_sum[label] / max(count, 1)
        variance = (total.net_square_sum[label] - count * net_share[name] ** 2) / max(count - 1, 1)
        net_error[name] = (
            np.sqrt(np.clip(variance, 0.0, None) / count) if count > 1 else np.zeros(num_features)
        )
        rank_share[name] = _divide(*_same_length(total.rank_sum[label], total.jets_with_rank[label]))
        counts = total.jets_with_rank[label].astype(float)
        enrichment_mean[name] = _divide(total.enrichment_sum[label], counts)
        square_mean = _divide(total.enrichment_square_sum[label], counts)
        variance = (square_mean - enrichment_mean[name] ** 2) * _divide(counts, counts - 1)
        enrichment_error[name] = np.sqrt(_divide(np.clip(variance, 0.0, None), counts))
    max_rank = max((len(share) for share in rank_share.values()), default=0)
    return RelevanceSummary(
        feature_names=feature_names,
        target=target,
        ranked_by=ranked_by,
        category_share=_category_share(total.category),
        confident_jet_ids=confident_ids,
        confident_group=groups,
        confident_prob_h=confident["prob_H"].to_numpy(dtype=float),
        confident_labels=confident["label"].to_numpy(dtype=int)
        if "label" in confident
        else np.full(len(confident), -1),
        confident_share=total.candidate_share.reindex(confident_ids).fillna(0).to_numpy(dtype=float),
        num_jets=num_jets,
        feature_share=feature_share,
        feature_positive_share=positive_share,
        feature_net_share=net_share,
        feature_net_error=net_error,
        rank_share={name: np.pad(share, (0, max_rank - len(share))) for name, share in rank_share.items()},
        rank_enrichment={name: np.pad(v, (0, max_rank - len(v))) for name, v in enrichment_mean.items()},
        rank_enrichment_error={
            name: np.pad(v, (0, max_rank - len(v))) for name, v in enrichment_error.items()
        },
        rank_jets={
            name: np.pad(total.jets_with_rank[label], (0, max_rank - len(total.jets_with_rank[label])))
            for label, name in CLASS_NAMES.items()
        },
    )


def merge_repeated_features(names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct names in schema order, and the ``[len(names), num_distinct]`` 0/1 matrix that adds the
    columns of repeated inputs."""
    distinct = list(dict.fromkeys(names))
    merge = np.zeros((len(names), len(distinct)))
    merge[np.arange(len(names)), [distinct.index(name) for name in names]] = 1.0
    return distinct, merge


def showcase(jets: pd.DataFrame, top_confident: int) -> tuple[pd.DataFrame, list[str]]:
    """The ``top_confident`` jets with the highest P(H), then up to half as many borderline jets (P(H) nearest
    0.5) and as many misclassified jets (the most confidently wrong), each jet once."""
    ranked = jets.sort_values("prob_H", ascending=False, kind="stable")
    chosen = [("confident", ranked.head(top_confident))]
    extra = max(top_confident // 2, 1)
    rest = ranked.iloc[top_confident:]
    borderline = rest.assign(distance=(rest["prob_H"] - 0.5).abs()).sort_values("distance", kind="stable")
    chosen.append(("borderline", borderline.head(extra).drop(columns="distance")))
    if "label" in jets:
        wrong = rest[(rest["prob_H"] >= 0.5) != (rest["label"] == 1)]
        wrong = wrong[~wrong["jet_id"].isin(chosen[1][1]["jet_id"])]
        confidence = (wrong["prob_H"] - 0.5).abs()
        order = confidence.sort_values(ascending=False, kind="stable").index
        chosen.append(("misclassified", wrong.loc[order].head(extra)))
    table = pd.concat([frame for _, frame in chosen])
    groups = [group for group, frame in chosen for _ in range(len(frame))]
    return table, groups


def showcase_candidates(jets: pd.DataFrame, top_confident: int) -> pd.DataFrame:
    """The rows of ``jets`` (one part of a dataset) that can be in :func:`showcase` of the whole dataset.

    A jet of this part in the global top ``top_confident`` is in the part's top ``top_confident``; a
    global borderline jet has fewer than ``top_confident + extra`` jets of its part nearer 0.5 (those are
    in the top or borderline before it), and a global misclassified jet fewer than
    ``top_confident + 2 * extra`` more confidently wrong ones. Ties keep the jet table's order.
    """
    extra = max(top_confident // 2, 1)
    ranked = jets.sort_values("prob_H", ascending=False, kind="stable")
    distance = (jets["prob_H"] - 0.5).abs().sort_values(kind="stable")
    chosen = [ranked.index[:top_confident], distance.index[: top_confident + extra]]
    if "label" in jets:
        wrong = jets[(jets["prob_H"] >= 0.5) != (jets["label"] == 1)]
        confidence = (wrong["prob_H"] - 0.5).abs().sort_values(ascending=False, kind="stable")
        chosen.append(confidence.index[: top_confident + 2 * extra])
    keep = jets.index.isin(np.concatenate([np.asarray(index) for index in chosen]))
    return jets[keep]


def jet_overview(
    relevance_file: RelevanceFile, *, max_jets: int | None = None, chunk_size: int = 200_000
) -> pd.DataFrame:
    """One row per jet, highest P(H) first: ``jet_id``, ``label``, ``prob_H``, ``explained_logit``, the
    spectators present, ``tracks`` and ``top_feature`` (the feature with the largest share of the jet's
    |relevance|).

    Args:
        relevance_file: What :func:`hepxai.explain.relevance_file.read_relevance_file` returns.
        max_jets: Keep only this many rows.
        chunk_size: Track rows read at once.
    """
    jets = relevance_file.jets.sort_values("prob_H", ascending=False, kind="stable")
    if max_jets is not None:
        jets = jets.head(max_jets)
    sums, counts = [], []
    for chunk in relevance_file.iter_tracks(chunk_size):
        tracks = chunk[chunk["jet_id"].isin(jets["jet_id"])]
        sums.append(tracks[relevance_file.relevance_columns].abs().groupby(tracks["jet_id"]).sum())
        counts.append(tracks.groupby("jet_id").size())
    per_jet = pd.concat(sums) if sums else pd.DataFrame(columns=relevance_file.relevance_columns)
    names = np.asarray(relevance_file.feature_names)
    top = pd.Series(
        names[np.argmax(per_jet.to_numpy(), axis=1)] if len(per_jet) else [],
        index=per_jet.index,
        dtype=object,
    )
    columns = [c for c in ("jet_id", "label", "prob_H", "explained_logit", "fj_pt", "fj_sdmass") if c in jets]
    table = jets[columns].reset_index(drop=True)
    num_tracks = pd.concat(counts) if counts else pd.Series(dtype=int)
    table["tracks"] = num_tracks.reindex(table["jet_id"]).fillna(0).astype(int).to_numpy()
    table["top_feature"] = top.reindex(table["jet_id"]).fillna("").to_numpy()
    return table


def _category_per_jet(
    tracks: pd.DataFrame, track_share: np.ndarray, jet_of_track: np.ndarray
) -> dict[str, pd.DataFrame]:
    """Per track category and jet: its share of the relevance, its tracks, and their share of tracks."""
    per_category = {}
    for category, column in TRACK_CATEGORIES.items():
        if column not in tracks:
            continue
        flag = tracks[column].to_numpy().astype(bool)
        per_jet = pd.DataFrame({"relevance": np.where(flag, track_share, 0.0), "flag": flag}).groupby(
            jet_of_track
        )
        tracks_flagged = per_jet["flag"].sum()
        per_category[category] = pd.DataFrame(
            {
                "relevance_share": per_jet["relevance"].sum(),
                "tracks_flagged": tracks_flagged,
                "count_share": tracks_flagged / per_jet["flag"].size(),
            }
        )
    return per_category


def _category_share(sums: dict[tuple[str, int], np.ndarray]) -> pd.DataFrame:
    """Per class and track category: the mean relevance share and track share, over jets with such a track,
    with their standard errors (0 for one jet), from the sums of :class:`SummaryPart`."""
    rows = []
    for category in TRACK_CATEGORIES:
        for label, name in CLASS_NAMES.items():
            if (category, label) not in sums:
                continue
            count, *moments = sums[category, label]
            row = {"class": name, "category": category, "jets": int(count)}
            for column, (total, square) in zip(
                ("relevance_share", "track_share"), (moments[:2], moments[2:]), strict=True
            ):
                mean = total / count if count else 0.0
                variance = (square - count * mean**2) / (count - 1) if count > 1 else 0.0
                row[column] = float(mean)
                row[f"{column}_error"] = float(np.sqrt(max(variance, 0.0) / count)) if count > 1 else 0.0
            rows.append(row)
    columns = ["class", "category", "jets", "relevance_share", "relevance_share_error"]
    return pd.DataFrame(rows, columns=[*columns, "track_share", "track_share_error"])


def _add(total: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``total + more`` for 1-d arrays of different lengths, the shorter padded with zeros."""
    total, more = _same_length(total, more)
    return total + more


def _same_length(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    length = max(len(first), len(second))
    return np.pad(first, (0, length - len(first))), np.pad(second, (0, length - len(second)))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (a jet without relevance)."""
    return np.divide(
        numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator != 0
    )
