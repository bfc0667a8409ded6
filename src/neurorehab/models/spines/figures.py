"""Report figures of `spines` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.models.views import COLORS, pick


def figures(run: Any) -> list[tuple[str, Any]]:
    """Spine maps of one animal per arm early in training (coloured by birth day) and the
    cluster fraction by day."""
    out = []
    snapshots, arms = run.snapshots, run.arms
    if snapshots:
        picked = {arm: pick(snaps, "early therapy", "end") for arm, snaps in snapshots.items()}
        fig, axes = plt.subplots(len(picked), 1, figsize=(9, 1.9 * len(picked)), squeeze=False)
        for ax, (arm, (label, snap)) in zip(axes[:, 0], picked.items(), strict=True):
            alive, birth = snap["alive"][:8], snap["birth"][:8]
            yy, xx = np.nonzero(alive)
            old = birth[yy, xx] < 0
            ax.scatter(xx[old], yy[old], s=6, c="#bbbbbb", label="pre-existing")
            sc = ax.scatter(
                xx[~old],
                yy[~old],
                s=14,
                c=birth[yy, xx][~old],
                cmap="viridis",
                label="new (colour: birth day)",
            )
            ax.set_title(f"{arm}: spine map on day {int(snap['day'])}, {label} (8 branches)", fontsize=9)
            ax.set_xlabel("position along branch (um)")
            ax.set_yticks([])
            if (~old).any():
                fig.colorbar(sc, ax=ax, label="birth day", pad=0.01)
        axes[0, 0].legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        out.append(("Spine maps", fig))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    s = run.summary("cluster_fraction")
    for i, arm in enumerate(arms):
        if arm in s:
            d, c = s[arm], COLORS[i % len(COLORS)]
            ax.plot(d["day"], d["mean"], "-o", ms=3, color=c, label=arm)
            ax.fill_between(d["day"], d["mean"] - d["half"], d["mean"] + d["half"], color=c, alpha=0.2)
    ax.axhline(32.5, color="k", ls=":", lw=1)
    ax.text(0.5, 33.5, "Fu et al. 2012: 32.5 % (days 1-4)", fontsize=7)
    ax.axhline(6.8, color="gray", ls=":", lw=1)
    ax.text(0.5, 7.8, "controls 6.8 %", fontsize=7, color="gray")
    ax.set_xlabel("day")
    ax.set_ylabel("% of new spines in clusters")
    ax.set_title("Cluster fraction of new spines (4-day window)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out.append(("Cluster fraction by day", fig))
    return out
