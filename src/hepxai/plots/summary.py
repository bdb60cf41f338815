"""Dataset summaries of relevance across many jets, signal against background; the most confident Higgs jets.

Each function takes a :class:`hepxai.explain.relevance_summary.RelevanceSummary` and an optional ``ax`` and
returns the figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.explain.relevance_summary import RelevanceSummary
from hepxai.plots.style import CLASS_COLORS, new_figure, plot_style


def _class_label(summary: RelevanceSummary, name: str) -> str:
    return f"{name} ({summary.num_jets[name]} jets)"


def feature_share_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Mean share of a jet's |relevance| carried by each feature, for H→bb and QCD jets."""
    num_features = len(summary.feature_names)
    if ax is None:
        _, ax = new_figure(9.0, 2.0 + 0.22 * num_features)
    with plot_style():
        rows = np.arange(num_features)
        height = 0.4
        for offset, (name, share) in zip(
            (-height / 2, height / 2), summary.feature_share.items(), strict=True
        ):
            ax.barh(
                rows + offset,
                100 * share,
                height=height,
                color=CLASS_COLORS[name],
                label=_class_label(summary, name),
            )
        ax.set_yticks(rows, summary.feature_names, fontsize=9)
        ax.set_ylim(num_features - 0.5, -0.5)
        ax.tick_params(axis="y", which="both", left=False, right=False)
        ax.set_xlabel(f"mean share of the jet's |relevance| for logit {summary.target} [%]")
        ax.legend(loc="lower right", frameon=True)
        ax.set_title("Which features the model uses", loc="left")
    return ax.figure


def rank_share_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Mean share of a jet's |relevance| on its hardest, second hardest, ... track (over jets with it)."""
    if ax is None:
        _, ax = new_figure(9.0, 6.5)
    with plot_style():
        for name, share in summary.rank_share.items():
            if summary.num_jets[name]:
                ranks = np.arange(1, len(share) + 1)
                ax.step(
                    ranks,
                    100 * share,
                    where="mid",
                    color=CLASS_COLORS[name],
                    lw=2,
                    label=_class_label(summary, name),
                )
        what = "track $p_T$ rank (1 = highest $p_T$)" if summary.ranked_by == "track pT" else "track position"
        ax.set_xlabel(what)
        ax.set_ylabel("mean share of the jet's |relevance| [%]")
        ax.set_xlim(0.5, None)
        ax.set_ylim(0, None)
        ax.legend(frameon=True)
        ax.set_title(
            "Relevance versus track $p_T$"
            if summary.ranked_by == "track pT"
            else "Relevance versus track position",
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
                color=color,
                label=f"{name}: share of |relevance|",
            )
            ax.bar(
                x + width / 2,
                100 * rows["track_share"],
                width,
                color="white",
                edgecolor=color,
                hatch="//",
                label=f"{name}: share of tracks",
            )
            for xi, jets in zip(x, rows["jets"], strict=True):
                ax.text(xi, 0, f"{jets}\njets", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(np.arange(len(categories)), [f"{c} tracks" for c in categories])
        ax.minorticks_off()
        ax.set_ylabel("mean over jets with such tracks [%]")
        ax.legend(fontsize=9, frameon=True)
    return ax.figure


def top_feature_plot(summary: RelevanceSummary, *, ax: Axes | None = None, num_features: int = 15) -> Figure:
    """How often each feature is a track's most relevant one (the ``num_features`` most frequent, if used)."""
    if ax is None:
        _, ax = new_figure(9.0, 2.0 + 0.35 * num_features)
    with plot_style():
        fractions = {
            name: counts / max(counts.sum(), 1) for name, counts in summary.top_feature_count.items()
        }
        total = sum(fractions.values())
        order = np.argsort(-total, kind="stable")[:num_features]
        order = order[total[order] > 0]
        rows = np.arange(len(order))
        height = 0.4
        for offset, (name, fraction) in zip((-height / 2, height / 2), fractions.items(), strict=True):
            ax.barh(
                rows + offset,
                100 * fraction[order],
                height=height,
                color=CLASS_COLORS[name],
                label=_class_label(summary, name),
            )
        ax.set_yticks(rows, [summary.feature_names[i] for i in order], fontsize=10)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.tick_params(axis="y", which="both", left=False, right=False)
        ax.set_xlabel("tracks whose most relevant feature it is [%]")
        ax.legend(loc="lower right", frameon=True)
        ax.set_title("Most relevant feature per track", loc="left")
    return ax.figure


def confident_jets_plot(summary: RelevanceSummary, *, ax: Axes | None = None) -> Figure:
    """Feature shares of the jets the model is most confident are Higgs (the seed's selected jets)."""
    num_jets = len(summary.confident_jet_ids)
    if ax is None:
        _, ax = new_figure(4.5 + 0.7 * num_jets, 2.5 + 0.2 * len(summary.feature_names))
    with plot_style():
        image = ax.imshow(
            100 * summary.confident_share.T, aspect="auto", interpolation="nearest", cmap="Reds", vmin=0
        )
        ax.minorticks_off()
        ax.tick_params(top=False, right=False)
        ax.set_yticks(range(len(summary.feature_names)), summary.feature_names, fontsize=9)
        truth = {1: "H", 0: "QCD"}
        ax.set_xticks(
            range(num_jets),
            [
                f"jet {j}\n{p:.3f}\n{truth.get(int(label), '?')}"
                for j, p, label in zip(
                    summary.confident_jet_ids, summary.confident_prob_h, summary.confident_labels, strict=True
                )
            ],
            fontsize=8,
        )
        ax.set_xlabel("jet, P(H), true label (most confident first)", loc="center")
        colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        colorbar.set_label("share of the jet's |relevance| [%]")
        ax.set_title(f"The {num_jets} jets most confidently H", loc="left")
    return ax.figure
