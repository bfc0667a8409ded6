"""Report figures of `pathway` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from neurorehab.models.views import COLORS


def figures(run: Any) -> list[tuple[str, Any]]:
    """A->D and B->D weights over time per arm (seed 000, Fig. 2)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for measure, style in (("w_ad", "-"), ("w_bd", "--")):
        s = run.summary(measure)
        for i, arm in enumerate(run.arms):
            if arm in s:
                d = s[arm]
                ax.plot(
                    d["day"],
                    d["mean"],
                    style,
                    color=COLORS[i % len(COLORS)],
                    label=f"{arm}: {'A' if measure == 'w_ad' else 'B'}->D",
                )
    ax.set_xlabel("day")
    ax.set_ylabel("mean weight")
    ax.set_title("Surviving route A->D (solid) and lost route B->D (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return [("A->D and B->D weights", fig)]
