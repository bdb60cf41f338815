"""The look of every hepxai figure (mplhep's CMS style, scaled for dense heatmaps); saving as PNG/PDF."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import mplhep
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.io.atomic import atomic_path

_OVERRIDES = {
    "font.size": 14,
    "axes.titlesize": 15,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "xtick.major.size": 6,
    "ytick.major.size": 6,
    "xtick.minor.size": 3,
    "ytick.minor.size": 3,
    "axes.linewidth": 1.2,
    "savefig.bbox": "tight",
}

SIGNAL_COLOR = "#e42536"  # H→bb
BACKGROUND_COLOR = "#5790fc"  # QCD
CLASS_COLORS = {"H→bb": SIGNAL_COLOR, "QCD": BACKGROUND_COLOR}
FIGURE_DPI = 150  # every saved or embedded figure: sharp in print and when the report enlarges it


@contextmanager
def plot_style() -> Iterator[None]:
    """Figures created inside this block use the hepxai style."""
    with mpl.style.context([mplhep.style.CMS, _OVERRIDES]):
        yield


def simulation_label(ax: Axes, right: str = "") -> None:
    """ "**hepxai** *simulation*" above the axes' top left corner (what made the events), ``right`` above its
    top right corner: the place where experiments print their label and luminosity."""
    ax.text(
        0, 1.01, r"$\mathbf{hepxai}$ $\mathit{simulation}$", transform=ax.transAxes, va="bottom", fontsize=14
    )
    if right:
        ax.text(1, 1.01, right, transform=ax.transAxes, ha="right", va="bottom", fontsize=12)


def new_figure(width: float, height: float, **subplot_kw: object) -> tuple[Figure, object]:
    """A figure with one axes, in the hepxai style, not registered with pyplot (nothing to close)."""
    with plot_style():
        figure = Figure(figsize=(width, height))
        ax = figure.add_subplot(**subplot_kw)
    return figure, ax


def save_figure(
    figure: Figure, stem: str | Path, formats: Sequence[str] = ("png", "pdf"), *, dpi: int = FIGURE_DPI
) -> list[Path]:
    """Write ``figure`` to ``stem.<format>`` for each format; returns the paths."""
    stem = Path(stem)
    paths = []
    with plot_style():
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            with atomic_path(path) as temporary:
                figure.savefig(temporary, dpi=dpi, format=fmt)
            paths.append(path)
    return paths
