"""Event displays of a tracker event: x-y and r-z views (matplotlib) and a 3D view (plotly, offline HTML).

Hits of pile-up particles and noise are grey, hits of the hard interaction's particles are coloured by
particle, and the muons from the Z boson are drawn large, joined in the order the muon crossed the layers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hepxai.data.detector.trackml_io import TrackMLEvent
from hepxai.plots.style import plot_style

MUON_COLORS = ("#e42536", "#5790fc")
HARD_COLOR = "#f89c20"
GREY = "#9c9ca1"


def event_display(event: TrackMLEvent) -> Figure:
    """x-y (transverse) and r-z (longitudinal) views of the hits, the Z muons highlighted."""
    table = _hit_table(event)
    with plot_style():
        figure = Figure(figsize=(16, 7.5))
        xy, rz = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
        r = np.hypot(table["x"], table["y"])
        for kind, color, size, label in (
            ("other", GREY, 0.3, "pile-up and noise"),
            ("hard", HARD_COLOR, 1.0, "hard interaction"),
        ):
            chosen = table["kind"] == kind
            xy.scatter(table.x[chosen], table.y[chosen], s=size, c=color, label=label, rasterized=True)
            rz.scatter(table.z[chosen], r[chosen], s=size, c=color, label=label, rasterized=True)
        for (particle_id, muon), color in zip(_z_muons(table), MUON_COLORS, strict=False):
            label = f"Z muon {particle_id}"
            xy.plot(muon.x, muon.y, "o-", c=color, ms=4, lw=1, label=label)
            rz.plot(muon.z, np.hypot(muon.x, muon.y), "o-", c=color, ms=4, lw=1, label=label)
        xy.set(xlabel="x [mm]", ylabel="y [mm]", aspect="equal", title=f"event {event.event_id}: x-y")
        rz.set(xlabel="z [mm]", ylabel="r [mm]", title="r-z")
        legend = rz.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=4, fontsize=11, frameon=False
        )
        for handle in legend.legend_handles[:2]:  # the hit scatters, too small to see at their own size
            handle.set_sizes([20])
    return figure


def event_display_3d(event: TrackMLEvent) -> go.Figure:
    """An interactive 3D view of the hits (rotate, zoom; hover a hit for its ids)."""
    table = _hit_table(event)
    figure = go.Figure()
    for kind, color, size, name in (
        ("other", GREY, 1.2, "pile-up and noise"),
        ("hard", HARD_COLOR, 2.0, "hard interaction"),
    ):
        chosen = table[table["kind"] == kind]
        figure.add_trace(
            go.Scatter3d(
                x=chosen.z,
                y=chosen.x,
                z=chosen.y,
                mode="markers",
                name=name,
                marker={"size": size, "color": color, "opacity": 0.5},
                text=[
                    f"hit {h}, particle {p}" for h, p in zip(chosen.hit_id, chosen.particle_id, strict=True)
                ],
                hoverinfo="text",
            )
        )
    for (particle_id, muon), color in zip(_z_muons(table), MUON_COLORS, strict=False):
        figure.add_trace(
            go.Scatter3d(
                x=muon.z,
                y=muon.x,
                z=muon.y,
                mode="lines+markers",
                name=f"Z muon {particle_id}",
                marker={"size": 4, "color": color},
                line={"color": color, "width": 4},
            )
        )
    figure.update_layout(
        title=f"event {event.event_id}",
        scene={
            "xaxis_title": "z [mm]",
            "yaxis_title": "x [mm]",
            "zaxis_title": "y [mm]",
            "aspectmode": "data",
        },
        template="plotly_white",
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return figure


def _hit_table(event: TrackMLEvent) -> pd.DataFrame:
    """Hits with particle id, hit order and kind: ``z_muon``, ``hard`` or ``other``."""
    table = event.hits[["hit_id", "x", "y", "z"]].copy()
    table["particle_id"], table["hit_order"], table["kind"] = 0, 0, "other"
    if event.truth is None:
        return table
    truth = event.truth.set_index("hit_id").reindex(table["hit_id"])
    table["particle_id"] = truth["particle_id"].fillna(0).to_numpy(np.int64)
    if "hit_order" in truth:
        table["hit_order"] = truth["hit_order"].fillna(-1).to_numpy(np.int64)
    if event.particles is None or "vertex_id" not in event.particles:
        return table
    particles = event.particles.set_index("particle_id")
    hard = particles.index[particles["vertex_id"] == 0]
    z_muon = particles.index[(particles["from_z"] == 1) & (particles["particle_type"].abs() == 13)]
    table.loc[table["particle_id"].isin(hard), "kind"] = "hard"
    table.loc[table["particle_id"].isin(z_muon), "kind"] = "z_muon"
    return table


def _z_muons(table: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    muons = table[table["kind"] == "z_muon"].sort_values(["particle_id", "hit_order"])
    return list(muons.groupby("particle_id"))
