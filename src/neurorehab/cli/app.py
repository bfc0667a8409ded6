"""`neurorehab`: run scenarios, validate them, list what exists, browse runs, build reports.

Every mistake a user can make (a bad file, a bad folder) ends with a short message on stderr
and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from neurorehab.cli import patient as _patient
from neurorehab.cli import web as _web
from neurorehab.cli.common import UserError, _plain_errors, compilation_cache, err_console, out_console

if TYPE_CHECKING:
    from neurorehab.core.spec import Param

app = typer.Typer(
    name="neurorehab",
    help="Simulate neurorehabilitation: plastic circuits, injuries, protocols, virtual patients.\n\n"
    "Examples:\n\n"
    "  neurorehab demo --out demo-run\n\n"
    "  neurorehab validate scenarios/pathway-practice.yaml\n\n"
    "  neurorehab run scenarios/spines-training.yaml --out runs/spines\n\n"
    "  neurorehab report runs/spines\n\n"
    "  neurorehab recommend examples/stroke-patient.csv --minutes-per-week 100\n\n"
    "  neurorehab serve --demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _run(
    scenario_path: Path | None,
    scenario_text: str | None,
    out: Path | None,
    resume: bool,
    catalog: str | None,
    execution: object = None,
) -> Path:
    from neurorehab.config import load_scenario, parse_scenario_text
    from neurorehab.runners import Execution, run_scenario
    from neurorehab.viz.report import build_report

    how = execution if isinstance(execution, Execution) else Execution()
    compilation_cache()

    if scenario_path is not None:
        scenario = load_scenario(scenario_path)
    else:
        scenario = parse_scenario_text(scenario_text or "", "demo scenario")
    folder = out or Path(scenario.output or f"runs/{scenario.name}")
    total = scenario.patients.count * len(scenario.arms)
    err_console.print(
        f"[bold]{scenario.name}[/]: {scenario.patients.count} patients x "
        f"{len(scenario.arms)} arms, model {scenario.model}, executor {how.executor} -> {folder}"
    )
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("patient-arms"),
        TextColumn("{task.fields[shards]}"),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task("run", total=total, shards="")
        manifest = run_scenario(
            scenario,
            folder,
            resume=resume,
            catalog_url=catalog,
            progress=lambda done, _t, k, n: bar.update(task, completed=done, shards=f"{k}/{n} shards"),
            execution=how,
            finish=build_report,
        )
    if manifest.get("catalog_error"):
        why = escape(manifest["catalog_error"])
        err_console.print(f"[yellow]warning:[/] the run was not recorded in the catalog: {why}")
    report = folder / "report.html"
    if not report.exists():  # a run finished without a report (by the API, or an older version)
        build_report(folder)
    failed = sum(len(v) for v in manifest["failures"].values())
    err_console.print(f"done in {manifest['wall_s']:.1f} s; {failed} failed patients")
    for name in ("results.parquet", "manifest.json", "report.html"):
        out_console.print(str(folder / name) if name != "report.html" else str(report))
    return folder


class _RateColumn(ProgressColumn):
    """Patient-arms a second: rich's recent speed while running, the overall speed once done."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "  -/s")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("neurorehab-demo"),
    catalog: Annotated[str | None, typer.Option(help="run catalog URL")] = None,
) -> None:
    """Run the bundled demo, a randomised virtual trial (a virtual EXCITE: CIMT against usual
    care 6 months after stroke, 128 virtual patients followed for a year, about a minute), and
    write its analysis and report.

    Example: neurorehab demo --out demo-run
    """
    with _plain_errors():
        text = resources.files("neurorehab.scenarios").joinpath("demo.yaml").read_text()
        from neurorehab.io.folder import read_json

        manifest, _ = read_json(out / "manifest.json")
        if manifest is not None and manifest.get("name") in ("demo-excite-trial", "demo-cimt-trial"):
            shutil.rmtree(out)  # a finished demo is simply run again
        _run(None, text, out, resume=(out / "run.json").exists(), catalog=catalog)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: the scenario's output, else runs/NAME)")
    ] = None,
    resume: Annotated[bool, typer.Option(help="finish an interrupted run in OUT")] = False,
    catalog: Annotated[
        str | None, typer.Option(help="run catalog URL (default $NEUROREHAB_CATALOG or a local SQLite)")
    ] = None,
    executor: Annotated[
        str, typer.Option(help="where shards run: local (this process), processes (local cores) or dask")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option(min=1, help="processes or Dask workers (default: cores; 2 for Dask)")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)"),
    ] = None,
) -> None:
    """Simulate a scenario and write results.parquet, manifest.json and report.html.

    The same scenario and seed give the same numbers with every executor.

    Examples:

      neurorehab run scenarios/stroke-cimt-trial.yaml --out runs/cimt

      neurorehab run scenarios/stroke-dose.yaml --executor processes --workers 2

      neurorehab run scenarios/stroke-dose.yaml --executor dask --address tcp://scheduler:8786
    """
    from neurorehab.runners import EXECUTORS, Execution

    with _plain_errors():
        if executor not in EXECUTORS:
            raise UserError(f"--executor {executor!r} is not known; choose one of {', '.join(EXECUTORS)}")
        if address and executor != "dask":
            raise UserError("--address is for --executor dask")
        how = Execution(executor, workers, address)  # type: ignore[arg-type]
        _run(scenario, None, out, resume, catalog, how)


@app.command()
def validate(scenario: Annotated[Path, typer.Argument(help="scenario YAML file")]) -> None:
    """Check a scenario file without running it.

    Example: neurorehab validate scenarios/spines-training.yaml
    """
    from neurorehab.config import compile_scenario, load_scenario

    with _plain_errors():
        s = load_scenario(scenario)
        c = compile_scenario(s)
        sessions = {a.name: int((a.calendar.n_trials > 0).sum()) for a in c.arms}
        out_console.print(
            f"{scenario}: valid. Model {s.model}, {s.patients.count} patients, "
            f"arms and sessions {sessions}, {s.duration_days} days."
        )


@app.command("list")
def list_(
    what: Annotated[
        str,
        typer.Argument(
            help="models, events, interventions, parameters, condition, techniques, assessments or all"
        ),
    ] = "all",
    model: Annotated[str | None, typer.Option(help="only this model's entries")] = None,
) -> None:
    """List models, events, interventions, parameters, the condition and assessments, one line each.

    Techniques are those the seed articles name, with how a scenario expresses each.

    Examples:

      neurorehab list techniques

      neurorehab list parameters --model motor

      neurorehab list interventions --model skill
    """
    from neurorehab.core import condition
    from neurorehab.models import registry
    from neurorehab.models.interventions import TECHNIQUES

    kinds = ("models", "events", "interventions", "parameters", "condition", "techniques", "assessments")
    with _plain_errors():
        if what not in (*kinds, "all"):
            raise UserError(f"cannot list {what!r}; choose one of {', '.join(kinds)} or all")
        known = registry.models()
        if model is not None and model not in known:
            raise UserError(f"--model {model!r} is not a model; valid: {', '.join(sorted(known))}")
        chosen = {k: v for k, v in known.items() if model in (None, k)}
        table = Table("kind", "name", "model", "description")
        show = what in ("all",)
        for name, info in chosen.items():
            if show or what == "models":
                table.add_row("model", name, "", info.summary)
            if show or what == "events":
                for kind, cls in info.events.items():
                    params = ", ".join(f"{k} [{v.unit}]" for k, v in cls.params.items())
                    table.add_row("event", kind, name, escape(f"{cls.summary} (params: {params or 'none'})"))
            if show or what == "parameters":
                for key, param in info.params.items():
                    table.add_row("parameter", key, name, escape(_describe(param)))
            if show or what == "assessments":
                for m, spec in info.measures.items():
                    table.add_row("assessment", m, name, escape(f"[{spec.unit}] {spec.doc}"))
            if show or what == "interventions":
                for iv_name, iv in info.available_interventions().items():
                    params = ", ".join(f"{k}={v.default:g} [{v.unit}]" for k, v in iv.params.items())
                    extra = f" (params: {params})" if params else ""
                    table.add_row("intervention", iv_name, name, escape(iv.summary + extra))
        if show or what in ("condition", "parameters"):
            for key, param in condition.PARAMS.items():
                table.add_row("condition", key, "every", escape(_describe(param)))
        if show or what == "assessments":
            for m, spec in condition.MEASURES.items():
                table.add_row("assessment", m, "every", escape(f"[{spec.unit}] {spec.doc}"))
        if show or what == "techniques":
            for name, how in TECHNIQUES.items():
                table.add_row("technique", name, "", how)
            for model_name, info in chosen.items():
                for name, how in info.techniques.items():
                    table.add_row("technique", name, model_name, how)
        out_console.print(table)


def _describe(spec: Param) -> str:
    """One line for a parameter: default, unit, range, meaning."""
    return f"{spec.default:g} [{spec.unit}] in [{spec.low:g}, {spec.high:g}]: {spec.doc}"


@app.command()
def schema(
    model: Annotated[str | None, typer.Option(help="only this model's part")] = None,
) -> None:
    """Print the JSON Schema of scenario files: one part per model (discriminated on `model`),
    with each parameter's unit, range and source.

    Examples:

      neurorehab schema > scenario.schema.json

      neurorehab schema --model motor
    """
    from neurorehab.config.schema import json_schema
    from neurorehab.models import registry

    with _plain_errors():
        if model is not None and model not in registry.models():
            raise UserError(
                f"--model {model!r} is not a model; valid: {', '.join(sorted(registry.models()))}"
            )
        sys.stdout.write(json.dumps(json_schema(model), indent=2) + "\n")


@app.command()
def runs(
    catalog: Annotated[str | None, typer.Option(help="run catalog URL")] = None,
    limit: Annotated[int, typer.Option(help="rows to show")] = 20,
) -> None:
    """List recorded runs from the catalog, newest first.

    Example: neurorehab runs --limit 5
    """
    import os

    from neurorehab.io.catalog import CatalogError, list_runs, safe_url, scrub

    with _plain_errors():
        url = catalog or os.environ.get("NEUROREHAB_CATALOG")
        try:
            rows = list_runs(catalog, limit)
        except CatalogError as err:
            raise UserError(str(err)) from None
        except Exception as err:
            first = scrub((str(err).splitlines() or [""])[0], url)
            shown = safe_url(url) if url else "the default catalog"
            raise UserError(f"cannot read the run catalog {shown}: {first}") from None
        table = Table("started", "name", "model", "patients", "arms", "failed", "wall s", "folder")
        for column in table.columns:
            column.overflow = "fold"
        for r in rows:
            table.add_row(
                str(r["started"])[:19],
                r["name"],
                r["model"],
                str(r["patients"]),
                str(r["arms"]),
                str(r["failed"]),
                f"{r['wall_s']:.1f}",
                r["out_dir"],
            )
        out_console.print(table if rows else "no runs recorded yet")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run's output folder")]) -> None:
    """(Re)build report.html for a finished run.

    Example: neurorehab report runs/pathway
    """
    from neurorehab.viz.report import build_report

    with _plain_errors():
        out_console.print(str(build_report(run_dir)))


for _command in (_patient.fit, _patient.forecast, _patient.recommend):
    app.command()(_command)
app.command("train-estimator")(_patient.train_estimator)
app.command()(_web.serve)
app.add_typer(_web.db_app, name="db")


def main() -> None:
    app()
