"""Report figures of `somatosensory` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from neurorehab.models.views import COLORS

REGIONS = ["silent", "palm", "thumb", "index", "middle", "ring", "little", "dorsum"]
PALETTE = ["#222222", "#bbbbbb", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def figures(run: Any) -> list[tuple[str, Any]]:
    """The map as a picture at each labelled moment (cortex coloured by the region each unit
    prefers), and the two-point-like course and cortical areas by arm."""
    out = []
    cmap = ListedColormap(PALETTE)
    for arm, snaps in list(run.snapshots.items())[:4]:
        labels = [k for k in snaps if "map" in snaps[k]]
        if not labels:
            continue
        fig, axes = plt.subplots(1, len(labels), figsize=(2.6 * len(labels), 2.9), squeeze=False)
        for ax, label in zip(axes[0], labels, strict=True):
            grid = np.asarray(snaps[label]["map"], float)
            ax.imshow(grid.T + 1, cmap=cmap, vmin=-0.5, vmax=len(PALETTE) - 0.5, origin="upper")
            ax.set_title(label, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PALETTE]
        fig.legend(handles, REGIONS, fontsize=7, ncol=8, loc="lower center")
        fig.suptitle(
            f"{arm}: the cortical map of patient 0 (each unit coloured by the region it prefers)", fontsize=10
        )
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        out.append((f"The hand's map ({arm})", fig))
    panels = [
        ("two_point_like", "two-point-like distance (mm)"),
        ("localisation_like", "localisation-like error (mm)"),
        ("area_median", "median-territory cortex (mm^2)"),
    ]
    present = [(m, t) for m, t in panels if run.summary(m)]
    if present:
        fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.0), squeeze=False)
        for ax, (m, title) in zip(axes[0], present, strict=True):
            for arm, color in zip(run.arms[:6], COLORS, strict=False):
                s = run.summary(m).get(arm)
                if s is None or not len(s["day"]):
                    continue
                ax.plot(s["day"], s["mean"], color=color, label=arm, lw=1.5)
                ax.fill_between(
                    s["day"], s["mean"] - s["half"], s["mean"] + s["half"], color=color, alpha=0.15
                )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("day")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle("By arm (mean and 95 % interval)", fontsize=10)
        fig.tight_layout()
        out.append(("Discrimination, localisation and the median territory by arm", fig))
    return out
