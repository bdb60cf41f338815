"""Learning curves of a training run: the losses and the validation AUC per epoch, the best epoch marked.

Any run of the one training loop (:func:`hepxai.training.fit`) records, per epoch, the training loss, the
validation loss and the validation AUC in its ``last.pt``; :func:`hepxai.training.read_history` reads them
and this module draws the numbers it is given.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hepxai.plots.style import plot_style

BEST_COLOR = "black"


def learning_curves(
    epoch: np.ndarray,
    train_loss: np.ndarray,
    val_loss: np.ndarray,
    val_auc: np.ndarray,
    *,
    best_epoch: int = 0,
    selected_by: str = "",
    title: str = "",
) -> Figure:
    """Training and validation loss (left) and validation AUC (right) against the epoch.

    Args:
        epoch: ``[epochs]`` epoch numbers, from 1.
        train_loss: ``[epochs]`` mean training loss.
        val_loss: ``[epochs]`` validation loss.
        val_auc: ``[epochs]`` validation AUC (NaN where it could not be computed: a gap).
        best_epoch: The selected epoch, marked on both axes (0: none).
        selected_by: What selected it, for the legend (``"lowest validation loss"``).
        title: Drawn above the figure (the run folder).
    """
    with plot_style():
        figure = Figure(figsize=(14, 6.0))
        loss_ax, auc_ax = figure.subplots(1, 2)
        loss_ax.plot(epoch, train_loss, "o-", label="training loss")
        loss_ax.plot(epoch, val_loss, "s-", label="validation loss")
        auc_ax.plot(epoch, val_auc, "o-", c="C2", label="validation AUC")
        loss_ax.set(xlabel="epoch", ylabel="loss")
        auc_ax.set(xlabel="epoch", ylabel="validation AUC")
        if best_epoch in set(np.asarray(epoch).tolist()):
            row = int(np.flatnonzero(np.asarray(epoch) == best_epoch)[0])
            label = f"best epoch {best_epoch}" + (f" ({selected_by})" if selected_by else "")
            for ax in (loss_ax, auc_ax):
                ax.axvline(best_epoch, c=BEST_COLOR, ls=":", lw=1.5, label=label)
            loss_ax.plot(best_epoch, val_loss[row], "*", c=BEST_COLOR, ms=16, zorder=3)
            auc_ax.plot(best_epoch, val_auc[row], "*", c=BEST_COLOR, ms=16, zorder=3)
        for ax in (loss_ax, auc_ax):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, fontsize=12, frameon=False)
            if len(epoch) < 15:
                ax.set_xticks(np.asarray(epoch))
        if title:
            figure.suptitle(title, fontsize=14)
    return figure
