"""Each arm's calendar as a picture: what was planned when, what patients did, what the
progression rule decided."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.config.scenario import core_block, parse_scenario
from neurorehab.core.progression import REASONS
from neurorehab.io.results import query
from neurorehab.models import registry
from neurorehab.models.protocol import Block, sessions
from neurorehab.viz.figures import png


def calendar_figure(run: Path, scenario: dict[str, Any]) -> bytes:
    """One panel per arm: sessions by day and clock time, coloured by intervention (hollow:
    offered at home), with the share of offered sessions done per interval and the dose factor."""
    s = parse_scenario(scenario)
    info = registry.get(s.model)
    available = info.available_interventions()
    palette = plt.get_cmap("tab20")
    colour = {name: palette(i % 20) for i, name in enumerate(available)}
    done = _per_arm(run, "sessions_done")
    factor = _per_arm(run, "dose_factor")
    size = (11, 1.9 * len(s.arms) + 0.6)
    fig, axes = plt.subplots(len(s.arms), 1, figsize=size, squeeze=False, sharex=True)
    for ax, arm in zip(axes[:, 0], s.arms, strict=True):
        blocks = [core_block(b, info, Block) for b in arm.protocol]
        seen = set()
        for block in blocks:
            home = block.adherence.initial < 1 or block.adherence.per_week != 0
            for day, hour in block.session_times():
                c = colour[block.intervention]
                label = None if block.intervention in seen else block.intervention
                seen.add(block.intervention)
                face = "none" if home else c
                ax.scatter(day, hour, s=14, marker="s", facecolors=face, edgecolors=c, label=label)
        offered_days = [x.day for x in sessions(blocks, len(info.tasks), interventions=available)]
        ax.set_ylim(24, 0)
        ax.set_ylabel("clock (h)")
        ax.set_title(arm.name, fontsize=10, loc="left")
        twin = ax.twinx()
        if arm.name in done and offered_days:
            days, mean_done = done[arm.name]
            offered = np.array([sum(d <= day for d in offered_days) for day in days], float)
            step = np.diff(offered, prepend=0.0)
            share = np.divide(
                np.diff(mean_done, prepend=0.0), step, out=np.full(len(days), np.nan), where=step > 0
            )
            twin.step(days, share, where="pre", color="k", lw=1.2, label="share of offered sessions done")
        if arm.progression is not None and arm.name in factor:
            days, f = factor[arm.name]
            twin.plot(days, f / max(float(np.nanmax(f)), 1.0), color="#d62728", ls="--", lw=1.2,
                      label=f"dose factor / {max(float(np.nanmax(f)), 1.0):.2f}")  # fmt: skip
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("share", fontsize=8)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="upper right", ncol=3)
    axes[-1, 0].set_xlabel("day")
    fig.tight_layout()
    return png(fig)


def decisions_table(run: Path, scenario: dict[str, Any]) -> list[tuple[str, int, str, float, float]]:
    """(arm, day, reason, share of patients, mean dose factor after) for every reassessment."""
    s = parse_scenario(scenario)
    rows = []
    for arm in s.arms:
        g = arm.progression
        if g is None:
            continue
        days = g.days(s.duration_days)
        got = query(
            run,
            f"""
            with r as (select patient, day, value as reason from daily
                       where arm = '{arm.name}' and measure = 'reason' and failure = 0),
                 f as (select patient, day, value as factor from daily
                       where arm = '{arm.name}' and measure = 'dose_factor' and failure = 0)
            select r.day, r.reason, count(*) * 1.0 / sum(count(*)) over (partition by r.day), avg(f.factor)
            from r join f using (patient, day)
            where r.day in ({",".join(map(str, days)) or "-1"})
            group by r.day, r.reason order by r.day, r.reason""",
        ).fetchall()
        rows += [(arm.name, int(d), REASONS[int(code)], float(share), float(f)) for d, code, share, f in got]
    return rows


def _per_arm(run: Path, measure: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    got = query(
        run,
        f"""select arm, day, avg(value) from daily where measure = '{measure}' and failure = 0
            group by arm, day order by arm, day""",
    ).fetchall()
    out: dict[str, tuple[list[float], list[float]]] = {}
    for arm, day, v in got:
        d = out.setdefault(arm, ([], []))
        d[0].append(day)
        d[1].append(v)
    return {a: (np.asarray(d[0], float), np.asarray(d[1], float)) for a, d in out.items()}
