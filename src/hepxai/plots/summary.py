"""Dataset summaries of relevance across many jets, signal against background; the most confident Higgs jets.

Each function takes a :class:`hepxai.explain.relevance_summary.RelevanceSummary` and an optional ``ax`` and
returns the figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.explain.relevance_summary import RelevanceSummary
from hepxai.plots.labels import feature_label
from hepxai.plots.style import CLASS_COLORS, new_figure, plot_style


def _class_label(summary: RelevanceSummary, name: str) -> str:
    return f"{name} ({summary.num_jets[name]} jets)"


MIN_FEATURE_SHARE = 0.005  # features below this share in both classes are left out (and counted)


def feature_share_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Share of a jet's |relevance| carried by each feature, split by sign, for H→bb and QCD jets.

    For each class, the bar right of 0 is the mean share of relevance pushing the explained logit up, the
    bar left of 0 the share pushing it down (together: the feature's |R| share), and the diamond the net share
    (ΣR / Σ|R|) with its standard error over jets: a feature can take much of |R| and cancel to nothing.
    Features are ordered by their largest |R| share; those below :data:`MIN_FEATURE_SHARE` in both classes
    are left out and counted.
    """
    largest = np.max(np.stack(list(summary.feature_share.values())), axis=0)
    order = np.argsort(-largest, kind="stable")
    order = order[largest[order] >= MIN_FEATURE_SHARE]
    if ax is None:
        _, ax = new_figure(9.0, 2.5 + 0.4 * max(len(order), 4))
    with plot_style():
        rows = np.arange(len(order))
        height = 0.4
        for offset, name in zip((-height / 2, height / 2), summary.feature_share, strict=True):
            positive = 100 * summary.feature_positive_share[name][order]
            negative = 100 * summary.feature_share[name][order] - positive
            color = CLASS_COLORS[name]
            ax.barh(rows + offset, positive, height=height, color=color, label=_class_label(summary, name))
            ax.barh(rows + offset, -negative, height=height, color=color, alpha=0.4)
            ax.errorbar(
                100 * summary.feature_net_share[name][order],
                rows + offset,
                xerr=100 * summary.feature_net_error[name][order],
                fmt="D",
                ms=5,
                color="black",
                mfc=color,
                lw=1.2,
                label=f"{name}: net ΣR / Σ|R| ± s.e.",
            )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(rows, [feature_label(summary.feature_names[i]) for i in order], fontsize=10)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.tick_params(axis="y", which="both", left=False, right=False)
        dropped = len(summary.feature_names) - len(order)
        note = f"\n({dropped} features below {100 * MIN_FEATURE_SHARE:.1f}% not shown)" if dropped else ""
        ax.set_xlabel(
            f"share of the jet's |relevance| [%]: ← against, for → logit {summary.target}{note}", loc="center"
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=10)
        ax.set_title("Which features the model uses, and in which direction", loc="left")
    return ax.figure


MIN_RANK_JETS = 5  # ranks held by fewer jets of a class end its curve


def rank_share_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """How much more relevance the hardest, second hardest, ... track holds than an even split would give it.

    A jet of N tracks would give each 1/N of its |relevance| if the model had no preference; the curve is the
    mean over jets of the track's share × N (1: no preference), with its standard error as a band, so the
    plot shows the model's preference rather than the 1/N that any jet's share falls with. A class's curve
    stops where fewer than :data:`MIN_RANK_JETS` of its jets (all of them, if it has fewer) have a track of
    that rank; the lower panel shows how many do.
    """
    if ax is None:
        _, ax = new_figure(9.0, 7.5)
    by_pt = summary.ranked_by == "track pT"
    with plot_style():
        counts_ax = ax.inset_axes([0.0, -0.3, 1.0, 0.22], sharex=ax)
        for name, enrichment in summary.rank_enrichment.items():
            jets = summary.rank_jets[name]
            if not summary.num_jets[name]:
                continue
            shown = np.flatnonzero(jets >= min(MIN_RANK_JETS, summary.num_jets[name]))
            ranks = np.arange(1, len(enrichment) + 1)[shown]
            error = summary.rank_enrichment_error[name][shown]
            color = CLASS_COLORS[name]
            ax.step(
                ranks, enrichment[shown], where="mid", color=color, lw=2, label=_class_label(summary, name)
            )
            ax.fill_between(
                ranks,
                enrichment[shown] - error,
                enrichment[shown] + error,
                step="mid",
                color=color,
                alpha=0.25,
                lw=0,
            )
            counts_ax.step(np.arange(1, len(jets) + 1), jets, where="mid", color=color, lw=1.5)
        ax.axhline(1, color="black", ls="--", lw=1, label="no preference (1/N of the jet's |R|)")
        counts_ax.set_xlabel("track $p_T$ rank (1 = highest $p_T$)" if by_pt else "track position")
        counts_ax.set_ylabel("jets", fontsize=11)
        counts_ax.set_yscale("log")
        counts_ax.axhline(MIN_RANK_JETS, color="grey", ls=":", lw=1)
        ax.tick_params(labelbottom=False)
        ax.set_ylabel("track's share of |R| × tracks in the jet")
        ax.set_xlim(0.5, None)
        ax.set_ylim(0, None)
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            title=f"bands: standard error\ncurves end below {MIN_RANK_JETS} jets",
            title_fontsize=10,
        )
        ax.set_title(
            f"Relevance per track {'by $p_T$ rank' if by_pt else 'by position'}, relative to an even split",
            loc="left",
        )
    return ax.figure


def category_share_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Share of |relevance| on muon, electron and b-hadron-decay tracks, against their share of the tracks."""
    if ax is None:
        _, ax = new_figure(9.0, 6.5)
    with plot_style():
        table = summary.category_share
        ax.set_title("Relevance of lepton and b-hadron tracks", loc="left")
        if table.empty:
            ax.text(
                0.5,
                0.5,
                "no lepton flags or track truth in this relevance file",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_axis_off()
            return ax.figure
        categories = list(dict.fromkeys(table["category"]))
        width = 0.2
        for column, (name, color) in enumerate(CLASS_COLORS.items()):
            rows = table[table["class"] == name].set_index("category").reindex(categories)
            x = np.arange(len(categories)) + (column - 0.5) * 2 * width
            ax.bar(
                x - width / 2,
                100 * rows["relevance_share"],
                width,
                yerr=100 * rows["relevance_share_error"],
                color=color,
                label=f"{name}: share of |relevance|",
            )
            ax.bar(
                x + width / 2,
                100 * rows["track_share"],
                width,
                yerr=100 * rows["track_share_error"],
                color="white",
                edgecolor=color,
                hatch="//",
                label=f"{name}: share of tracks",
            )
            tops = 100 * np.maximum(
                rows["relevance_share"] + rows["relevance_share_error"],
                rows["track_share"] + rows["track_share_error"],
            )
            for xi, top, jets in zip(x, tops, rows["jets"], strict=True):
                ax.annotate(
                    f"n = {jets}",
                    (xi, top),
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=9,
                )
        ax.set_xticks(np.arange(len(categories)), [f"{c} tracks" for c in categories])
        ax.minorticks_off()
        ax.set_ylabel("mean over jets with such tracks [%]")
        ax.set_ylim(0, 1.15 * ax.get_ylim()[1])
        ax.legend(  # beside the axes, off the bars
            fontsize=10,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            title="error bars: standard error over\nthe n jets (none where n = 1)",
            title_fontsize=10,
        )
    return ax.figure


def _probability(p: float) -> str:
    """P(H) readable near 1: ``0.873``, ``1 - 3e-05``."""
    return f"{p:.3f}" if p < 0.999 else f"1 − {1 - p:.0e}"


def confident_jets_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Feature shares of the jets the model is most confident are Higgs (the seed's selected jets), then of
    borderline and misclassified jets, for contrast. Rows: the features with the largest share over them. The
    colour scale ends at the 98th percentile of the cells shown (an arrow marks larger ones), so one
    dominant cell does not leave the others white."""
    num_jets = len(summary.confident_jet_ids)
    share = summary.confident_share
    largest = share.max(axis=0) if len(share) else np.zeros(len(summary.feature_names))
    rows = np.argsort(-largest, kind="stable")[:25]
    if ax is None:
        _, ax = new_figure(5.5 + 0.75 * num_jets, 3.5 + 0.3 * len(rows))
    with plot_style():
        values = 100 * share[:, rows].T
        limit = float(np.percentile(values, 98)) if values.size else 1.0
        image = ax.imshow(
            values, aspect="auto", interpolation="nearest", cmap="Reds", vmin=0, vmax=limit or 1.0
        )
        ax.minorticks_off()
        ax.tick_params(top=False, right=False)
        ax.set_yticks(range(len(rows)), [feature_label(summary.feature_names[i]) for i in rows], fontsize=9)
        truth = {1: "H", 0: "QCD"}
        ax.set_xticks(
            range(num_jets),
            [
                f"jet {j}\n{_probability(p)}\n{truth.get(int(label), '?')}"
                for j, p, label in zip(
                    summary.confident_jet_ids, summary.confident_prob_h, summary.confident_labels, strict=True
                )
            ],
            fontsize=10,
        )
        groups = summary.confident_group
        for start in (i for i in range(1, num_jets) if groups[i] != groups[i - 1]):
            ax.axvline(start - 0.5, color="black", lw=2)
        for group in dict.fromkeys(groups):
            columns = [i for i, g in enumerate(groups) if g == group]
            ax.text(
                np.mean(columns),
                -0.7,
                group,
                ha="center",
                va="bottom",
                fontsize=10,
                fontweight="bold",
                clip_on=False,
            )
        ax.set_xlabel("jet, P(H), true label", loc="center")
        dropped = len(summary.feature_names) - len(rows)
        ax.set_ylabel(f"feature ({dropped} smallest not shown)" if dropped > 0 else "feature", loc="center")
        extend = "max" if values.size and values.max() > limit else "neither"
        colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02, extend=extend)
        colorbar.set_label("share of the jet's |relevance| [%]")
        ax.set_title("Jets the model is most sure are H, borderline and misclassified", loc="left", pad=28)
    return ax.figure
