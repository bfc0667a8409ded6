"""`report.html`: one self-contained page (inline CSS, figures as data URIs), opens offline."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import yaml

from neurorehab.core import condition
from neurorehab.io import folder
from neurorehab.io.atomic import write_text_atomic
from neurorehab.io.results import SCHEMA
from neurorehab.models import registry
from neurorehab.viz.figures import model_figures, recovery_curves

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}img{max-width:100%}.muted{color:#777}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.8em}"""


class ReportError(Exception):
    """The folder is not a complete run."""


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def build_report(run: str | Path) -> Path:
    """Write run/report.html from a complete run folder and return its path. A folder that is
    not a sound run gives a ReportError saying what is damaged and how to mend it."""
    run = Path(run)
    try:
        return _build(run)
    except ReportError:
        raise
    except OSError as err:
        raise ReportError(f"cannot write {run / 'report.html'}: {err.strerror or err}") from None
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, RecursionError) as err:
        raise ReportError(
            f"{run} is damaged: a file of the run does not hold what the report needs "
            f"({type(err).__name__}: {str(err)[:120]}). To mend it, run its scenario again with "
            f"`--out {run} --resume`"
        ) from None


def _build(run: Path) -> Path:
    if not run.is_dir():
        raise ReportError(f"{run} is not a folder; give a run's output folder")
    if not (run / "manifest.json").exists():
        raise ReportError(
            f"{run} holds no complete run (no manifest.json); finish it with "
            "`neurorehab run SCENARIO --out DIR --resume`"
        )
    damaged = folder.problems(run, SCHEMA)
    if damaged:
        remedy = (
            f"repair it with `neurorehab run {run / 'scenario.yaml'} --out {run} --resume` "
            "(sound shards are reused)"
            if (run / "scenario.yaml").exists()
            else "run its scenario again with `--out` on this folder and `--resume`"
        )
        raise ReportError(f"{run} is damaged: " + "; ".join(damaged) + f". To mend it, {remedy}")
    manifest, _ = folder.read_json(run / "manifest.json")
    assert manifest is not None
    scenario = manifest["scenario"]
    try:
        info = registry.get(manifest["model"])
    except KeyError as err:
        raise ReportError(f"{run}: {err.args[0]} (is the package that provides it installed?)") from None
    arms = manifest["arms"]
    measures = manifest["measures"]
    specs = {**info.measures, **condition.MEASURES}
    units = {k: v.unit for k, v in specs.items()}
    parts = [
        f"<h1>neurorehab report: {html.escape(manifest['name'])}</h1>",
        f"<p>{html.escape(scenario.get('description') or '')}</p>",
        f"<p class=muted>Model <b>{info.name}</b>: {html.escape(info.summary)} "
        f"Source: {html.escape(info.source)}. Simulated measures are model quantities, "
        "not clinical instruments.</p>",
    ]
    if (run / "trial.json").exists():
        parts += _trial_section(json.loads((run / "trial.json").read_text()), run)
    parts += _calendar_section(run, scenario)
    parts += [
        "<h2>Recovery curves (every patient under every arm)</h2>",
        _img(recovery_curves(run, measures, units, arms), "curves"),
    ]
    figures = model_figures(run, manifest, info)
    if figures:
        parts.append(f"<h2>The {html.escape(info.name)} model</h2>")
        parts += [f"<h3>{html.escape(t)}</h3>{_img(b, t)}" for t, b in figures]
    parts.append(
        "<h2>Measures</h2>"
        + _table([(m, f"{specs[m].unit}: {specs[m].doc}") for m in measures if m in specs])
    )
    parts.append("<h2>Scenario</h2>" + _table(_flatten(scenario)))
    parts.append(
        "<details><summary>Scenario as YAML</summary><pre>"
        + html.escape(yaml.safe_dump(scenario, sort_keys=False))
        + "</pre></details>"
    )
    failed = sum(len(v) for v in manifest["failures"].values())
    parts.append(
        "<h2>Manifest</h2>"
        + _table(
            [
                ("seed", manifest["seed"]),
                ("patients per arm", manifest.get("patients")),
                ("started", manifest.get("started")),
                ("finished", manifest.get("finished")),
                ("wall time (s)", manifest.get("wall_s")),
                ("timings", json.dumps(manifest.get("timings"))),
                ("failed patients", failed),
                ("failures", json.dumps(manifest["failures"]) or "none"),
                ("git revision", manifest.get("git_revision") or "none"),
                ("scenario sha256", manifest["scenario_sha256"]),
                *[(f"version: {k}", v) for k, v in (manifest.get("versions") or {}).items()],
                ("random keys", manifest.get("random_keys")),
            ]
        )
    )
    page = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(manifest['name'])}"
        f" - neurorehab</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    out = run / "report.html"
    write_text_atomic(out, page)
    return out


def _trial_section(trial: dict[str, Any], run: Path) -> list[str]:
    from neurorehab.viz import trial as tv

    out = [
        "<h2>Virtual trial</h2>",
        f"<p>Primary outcome <b>{html.escape(trial['primary_measure'])}</b> at day {trial['followup_day']}, "
        f"baseline day {trial['baseline_day']}; control arm <b>{html.escape(trial['control'])}</b>; "
        f"allocation {html.escape(trial['allocation']['scheme'])}; drop-out "
        f"{trial['dropout_per_week']:.1%} a week; two-sided alpha {trial['alpha']}. Effects are "
        "differences against control in the units of the measure. The true effect is what the "
        "simulator knows from each patient's counterfactual (a real trial cannot see it).</p>",
        tv.results_table(trial),
        "<h3>CONSORT-style flow</h3>",
        _img(tv.consort(trial), "consort"),
        "<h3>Outcome over time, as observed</h3>",
        _img(tv.trajectories(run, trial), "trajectories"),
        "<h3>Effects overall and by subgroup</h3>",
        _img(tv.forest(trial), "forest"),
    ]
    if trial.get("power"):
        out += ["<h3>Power and sample size</h3>", _img(tv.power_figure(trial), "power")]
    return out


def _calendar_section(run: Path, scenario: dict[str, Any]) -> list[str]:
    from neurorehab.viz.calendar import calendar_figure, decisions_table

    out = [
        "<h2>Calendars</h2>",
        "<p>Each arm's sessions by day and clock time (hollow: a home programme, done with the "
        "adherence shown), the share of offered sessions that patients did between assessments, "
        "and the progression rule's dose factor.</p>",
        _img(calendar_figure(run, scenario), "calendars"),
    ]
    rows = decisions_table(run, scenario)
    if rows:
        body = "".join(
            f"<tr><td>{html.escape(a)}</td><td>{d}</td><td>{html.escape(r)}</td><td>{share:.0%}</td>"
            f"<td>{f:.2f}</td></tr>"
            for a, d, r, share, f in rows
        )
        out.append(
            "<h3>Progression decisions</h3><table><tr><th>arm</th><th>day</th><th>decision and reason</th>"
            f"<th>share of patients</th><th>mean dose factor after</th></tr>{body}</table>"
        )
    return out


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [row for k, v in data.items() for row in _flatten(v, f"{prefix}{k}.")]
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return [row for i, v in enumerate(data) for row in _flatten(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), data)]
