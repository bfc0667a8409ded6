"""One shard of work, and the three ways to run a list of them: in process, on local cores, on Dask.

A shard is (arm, a chunk of patients). `compute_shard` is a plain function of a picklable Job
(the scenario as JSON text, the arm, the first patient, the count, the chunk size): it compiles
the scenario (cached per process), simulates the chunk and returns its tidy table. Only the
driver writes files (atomically, as each shard comes back), so remote workers need no shared
file system and a killed run leaves only whole shards. Every patient's numbers depend only on
its own key and the chunk size is the same everywhere, so the three executors give identical
files.

Worker processes are started with `spawn`, never `fork` (JAX is multithreaded and must not be
forked); Dask's nanny spawns its workers too.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax
import numpy as np

from neurorehab.core.engine import Calendar, develop, initial_carry, simulate, snapshots_one, split_calendar
from neurorehab.core.failures import after_run_in
from neurorehab.core.model import Model
from neurorehab.io.atomic import write_atomic
from neurorehab.io.results import tidy_table, write_parquet
from neurorehab.runners.hosts import cores

Progress = Callable[[int, int, int, int], None]  # patient-arms done, total, shards done, total
EXECUTORS = ("local", "processes", "dask")


class RunError(Exception):
    """The run cannot start or go on, for a reason the user can act on."""


class Job(NamedTuple):
    scenario: str  # the validated scenario as JSON text
    out: str
    arm: int
    start: int
    n: int  # patients in this shard
    chunk: int  # the vectorised chunk size (the same for every shard: one compilation)
    inputs: str = "{}"  # JSON: field -> SHA-256 of each input file as the driver read it


@dataclass(frozen=True)
class Execution:
    """Where shards run: `local` (this process), `processes` (local cores) or `dask`."""

    executor: Literal["local", "processes", "dask"] = "local"
    workers: int | None = None
    address: str | None = None


def shard_path(out: Path, arm: int, start: int) -> Path:
    return out / "shards" / f"a{arm:02d}-p{start:07d}.parquet"


@lru_cache(maxsize=4)
def _compiled(text: str, inputs: str = "{}") -> Any:
    """The compiled scenario, cached per process by its text and its input files' digests (a
    table edited between two runs in one process is read again)."""
    from neurorehab.config import compile_scenario, parse_scenario

    return compile_scenario(parse_scenario(json.loads(text)))


@lru_cache(maxsize=1)
def _developed(text: str, inputs: str, start: int, n: int, chunk: int) -> Any:
    """A shard's developed initial states, kept for the next job of the same patients: jobs run
    patients-first, so every arm of a shard reuses one development (`Model.develops`)."""
    c = _compiled(text, inputs)
    ids = np.arange(start, start + n)
    return develop(c.model, c.sample_params(ids), c.sim_keys(ids), chunk_size=chunk, threads=cores())


class Shard(NamedTuple):
    table: Any  # pyarrow.Table of tidy results
    snapshots: dict[str, np.ndarray] | None  # pictures of patient 0 (first shard of an arm)
    seconds: float


def _carry(
    text: str, inputs: str, start: int, n: int, chunk: int, arm: int, slot: int
) -> tuple[dict[str, np.ndarray], Any]:
    """Where a shard's patients stand in arm `arm` after its first `slot` slots, and the
    measures of those slots: up to the arm's branch (`CompiledScenario.branches`), the parent
    arm's (or, at 0, the patients' start); later, the arm's carry at its previous cut
    (`_cuts`) run on to `slot`. Kept for the next jobs of the same patients (jobs run
    patients-first, so an arm finds its parent's carry; a worker that did not run the parent
    computes it, with the same numbers), under the arm that runs the slots (`_carry_at`)."""
    c = _compiled(text, inputs)
    parent, at = c.branches[arm]
    while slot <= at and parent >= 0:  # the parent ran these slots
        arm = parent
        parent, at = c.branches[arm]
    return _carry_at(text, inputs, start, n, chunk, arm, slot)


@lru_cache(maxsize=16)
def _carry_at(
    text: str, inputs: str, start: int, n: int, chunk: int, arm: int, slot: int
) -> tuple[dict[str, np.ndarray], Any]:
    """`_carry` for an arm that runs slot `slot - 1` itself (past its branch), or at 0."""
    c = _compiled(text, inputs)
    ids = np.arange(start, start + n)
    params, condition, keys = c.sample_params(ids), c.sample_condition(ids), c.sim_keys(ids)
    if slot == 0:  # the patients' start: every part resumes from a carry, under one program
        initial = _developed(text, inputs, start, n, chunk) if type(c.model).develops else None
        begin = initial_carry(
            c.model, params, keys, condition=condition, initial=initial, chunk_size=chunk, threads=cores()
        )
        return {}, begin
    previous = max(cut for cut in (0, *_cuts(c, arm, start)) if cut < slot)
    done, carry = _carry(text, inputs, start, n, chunk, arm, previous)
    part = split_calendar(split_calendar(c.arms[arm].calendar, slot)[0], previous)[1]
    measures, _, carry = simulate(
        c.model,
        params,
        part,
        keys,
        condition=condition,
        events=c.events,
        event_values=c.sample_events(ids),
        chunk_size=chunk,
        resume=carry,
        bounds=c.split_bounds,
        return_carry=True,
        threads=cores(),
    )  # type: ignore[misc]
    return _joined(done, measures), carry


def _cuts(c: Any, arm: int, start: int) -> tuple[int, ...]:
    """Where a shard cuts an arm's run, in order: its branch, the stops where later arms leave
    it and, in an arm's first shard, after each pictured slot (`snapshot_slots`: the pictures
    are taken from the carries there, so they show the run the results come from)."""
    at = c.branches[arm][1]
    cuts = {at, *c.stops(arm)}
    if start == 0 and _pictures(c.model):
        cal = c.arms[arm].calendar
        n_slots = int(cal.day.shape[0])
        cuts |= {s + 1 for s in snapshot_slots(cal).values() if at < s + 1 < n_slots}
    return tuple(sorted(cuts))


def _pictures(model: Model) -> bool:
    """Whether the model has something to picture (`Model.snapshot`)."""
    return type(model).snapshot is not Model.snapshot


def job_key(job: Job) -> tuple[str, str, int, int, int]:
    """A job's patients, as `_carry` and `_developed` key them."""
    return job.scenario, job.inputs, job.start, job.n, job.chunk


def _joined(first: dict[str, np.ndarray], then: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Measures [patients, slots] of two consecutive parts of a run, as one."""
    return {k: np.concatenate([first[k], v], axis=1) for k, v in then.items()} if first else then


def compute_shard(job: Job) -> Shard:
    """Simulate one shard; return its tidy table (and snapshots) for the driver to write."""
    t = time.perf_counter()
    c = _compiled(job.scenario, job.inputs)
    expected = json.loads(job.inputs)
    for field, read in sorted(c.inputs.items()):
        digest = read["sha256"]
        if expected.get(field) != digest:
            raise RunError(
                f"the file {field} names changed while the run was going (SHA-256 "
                f"{str(expected.get(field))[:12]}... when it started, {digest[:12]}... now); "
                "restore it and run again with --resume, or start a new run in another --out"
            )
    arm = c.arms[job.arm]
    ids = np.arange(job.start, job.start + job.n)
    params, condition, values, keys = (
        c.sample_params(ids),
        c.sample_condition(ids),
        c.sample_events(ids),
        c.sim_keys(ids),
    )
    run = partial(
        simulate,
        c.model,
        params,
        keys=keys,
        condition=condition,
        events=c.events,
        event_values=values,
        chunk_size=job.chunk,
        rule=arm.rule,
    )
    pictured = job.start == 0 and _pictures(c.model)
    snaps = None
    if c.branched:  # the slots this arm shares with an earlier one run once a shard (`_carry`)
        last = _cuts(c, job.arm, job.start)[-1]
        done, carry = _carry(*job_key(job), job.arm, last)
        rest, codes, final = run(
            split_calendar(arm.calendar, last)[1], resume=carry, bounds=c.split_bounds, return_carry=True
        )  # type: ignore[misc]
        measures = _joined(done, rest)
        codes = after_run_in(codes, done)
        if pictured:  # patient 0 after each pictured slot, from the carries at the cuts there
            labels, n_slots = snapshot_slots(arm.calendar), int(arm.calendar.day.shape[0])
            after = [
                final if s + 1 == n_slots else _carry(*job_key(job), job.arm, s + 1)[1]
                for s in labels.values()
            ]
            first = [jax.tree_util.tree_map(lambda x: x[0], a.state) for a in after]
            snaps = picture_arrays(labels, [c.model.snapshot(state) for state in first])
    else:  # every arm at one shape: one compilation for the scenario
        initial = _developed(*job_key(job)) if type(c.model).develops else None
        measures, codes = run(arm.calendar, initial=initial, bounds=c.bounds)  # type: ignore[misc]
        if pictured:
            snaps = snapshot_arrays(c, arm, (params, condition, values), keys[0], initial)
    keep = {k: measures[k][:, arm.assess] for k in c.measures}
    table = tidy_table(arm.name, ids, arm.days[arm.assess], keep, codes, minutes=arm.minutes[arm.assess])
    return Shard(table, snaps, time.perf_counter() - t)


def by_patients(jobs: list[Job], workers: int) -> list[tuple[Job, ...]]:
    """The jobs grouped by their patients, in order: a worker runs every arm of a group, so
    the group's development and the stretches its arms share (`_carry`) are computed once,
    not once on each worker an arm lands on. With fewer groups than `workers`, one job a unit
    (arms in parallel then beat shared work)."""
    groups: dict[int, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.start, []).append(job)
    if len(groups) < workers:
        return [(job,) for job in jobs]
    return [tuple(g) for g in groups.values()]


def compute_group(jobs: tuple[Job, ...]) -> list[Shard]:
    """`compute_shard` for each job of a group (`by_patients`), in order; then the group's
    carries are let go (`_carry` keeps them only for the arms of one chunk of patients)."""
    try:
        return [compute_shard(job) for job in jobs]
    finally:
        _carry_at.cache_clear()


def save_shard(job: Job, shard: Shard) -> None:
    """Write a shard's snapshots, then its table (atomically; the table marks the shard done)."""
    out = Path(job.out)
    if shard.snapshots is not None:
        name = json.loads(job.scenario)["arms"][job.arm]["name"]
        arrays = shard.snapshots

        def write(p: Path) -> None:
            with open(p, "wb") as fh:
                np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

        write_atomic(out / "snapshots" / f"{name}.npz", write)
    write_parquet(shard_path(out, job.arm, job.start), shard.table)


def execute(
    jobs: list[Job], how: Execution, progress: Progress | None, *, total: int, already: int = 0
) -> list[float]:
    """Run the jobs; report patient-arms done after each; return each job's seconds."""
    done, times = already, []
    n_shards = len(jobs)  # shards to compute in this call (a resumed run skips the rest)

    def finished(job: Job, shard: Shard) -> None:
        nonlocal done
        save_shard(job, shard)
        done += job.n
        times.append(shard.seconds)
        if progress is not None:
            progress(done, total, len(times), n_shards)

    if progress is not None:
        progress(done, total, 0, n_shards)
    if how.executor == "local":
        for i, job in enumerate(jobs):
            if i and job.start != jobs[i - 1].start:
                _carry_at.cache_clear()  # the last chunk's carries: its arms are done
            finished(job, compute_shard(job))
    elif how.executor == "processes":
        _processes(jobs, how.workers or os.cpu_count() or 1, finished)
    elif how.executor == "dask":
        _dask(jobs, how, finished)
    else:
        raise ValueError(f"executor {how.executor!r}: valid are {EXECUTORS}")
    return times


def _core_sets(workers: int) -> list[list[int]]:
    """The cores each of `workers` processes keeps to: this process's cores dealt out in
    turn, so that workers do not share a core (none when there are more workers than cores,
    or the platform cannot pin)."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    cores = sorted(os.sched_getaffinity(0))
    if workers > len(cores):
        return []
    return [cores[i::workers] for i in range(workers)]


def _start_worker(parent: int, core_sets: list[list[int]], counter: Any) -> None:
    """A worker's initializer: it watches its parent (`watch_parent`) and keeps to its own
    cores before JAX starts its backend, so XLA sizes its thread pools to them. Two workers
    that each thread over every core fight for them: on 2 cores a six-minute run was 1.07x
    faster pinned than not (bench/README.md, Executors)."""
    watch_parent(parent)
    if core_sets:
        with counter.get_lock():
            mine = core_sets[counter.value % len(core_sets)]
            counter.value += 1
        with contextlib.suppress(OSError):  # a sandbox that forbids it: the worker runs unpinned
            os.sched_setaffinity(0, mine)


def watch_parent(parent: int, every_s: float = 0.5) -> None:
    """Make this worker process end when its parent does, even by kill -9 (which runs no
    clean-up in the parent): a daemon thread polls the parent's pid and exits the process once
    the worker has been re-parented. Run as the worker's initializer."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(70)  # the driver is gone: nothing would read this worker's results

    if os.getppid() != parent:
        os._exit(70)
    threading.Thread(target=watch, name="neurorehab-watch-parent", daemon=True).start()


def _processes(jobs: list[Job], workers: int, finished: Callable[[Job, Shard], None]) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not jobs:
        return
    ctx = multiprocessing.get_context("spawn")
    units = by_patients(jobs, workers)
    n = min(workers, len(units))
    with ProcessPoolExecutor(
        max_workers=n,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(os.getpid(), _core_sets(n), ctx.Value("i", 0)),
    ) as pool:
        futures = {pool.submit(compute_group, group): group for group in units}
        for future in as_completed(futures):
            for job, shard in zip(futures[future], future.result(), strict=True):
                finished(job, shard)


def _dask(jobs: list[Job], how: Execution, finished: Callable[[Job, Shard], None]) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RunError("the dask executor needs Dask.distributed: pip install 'neurorehab[dask]'") from None
    if not jobs:
        return
    cluster = None
    if how.address:
        try:
            client = Client(how.address, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise RunError(f"cannot reach the Dask scheduler at {how.address}: {err}") from None
    else:
        cluster = LocalCluster(
            n_workers=how.workers or 2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        units = by_patients(jobs, how.workers or 2)
        futures = {client.submit(compute_group, group, pure=False): group for group in units}
        for future in as_completed(futures):
            for job, shard in zip(futures[future], future.result(), strict=True):
                finished(job, shard)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def snapshot_slots(cal: Calendar) -> dict[str, int]:
    """Labelled slots to picture: baseline, just after the injury, 4 days into therapy, the end
    of therapy and the end of the run (each when it exists; duplicates dropped)."""
    day, sessions = np.asarray(cal.day), np.flatnonzero(np.asarray(cal.n_trials) > 0)
    labels = {"baseline": 0}
    injured = np.flatnonzero(np.asarray(cal.events).any(axis=1)) if cal.events.size else np.zeros(0, int)
    if injured.size:
        labels["after injury"] = int(injured[0])
    if sessions.size:
        labels["early therapy"] = int(np.flatnonzero(day <= day[sessions[0]] + 4)[-1])
        labels["end of therapy"] = int(sessions[-1])
    labels["end"] = len(day) - 1
    seen: dict[int, str] = {}
    for label, slot in labels.items():
        seen.setdefault(slot, label)
    return {label: slot for slot, label in seen.items()}


_snapshots = jax.jit(
    snapshots_one, static_argnums=(0, 4), static_argnames=("events", "max_trials", "max_days", "rule")
)  # `initial` (a pytree or None) is traced


def snapshot_arrays(c: Any, arm: Any, patient: Any, key: Any, initial: Any = None) -> dict[str, np.ndarray]:
    """Pictures of patient 0 at the labelled slots, as `label__name` arrays; `patient`: the
    shard's (params, condition, event values); `initial`: the shard's developed states."""
    labels = snapshot_slots(arm.calendar)
    params, condition, values = jax.tree_util.tree_map(lambda x: x[0], patient)
    first = None if initial is None else jax.tree_util.tree_map(lambda x: x[0], initial)
    snaps = _snapshots(
        c.model,
        params,
        arm.calendar,
        key,
        tuple(labels.values()),
        condition=condition,
        events=c.events,
        event_values=values,
        max_trials=arm.calendar.max_trials,
        max_days=arm.calendar.max_days,
        rule=arm.rule,
        initial=first,
    )
    return picture_arrays(labels, snaps)


def picture_arrays(labels: dict[str, int], snaps: Any) -> dict[str, np.ndarray]:
    """Pictures (`Model.snapshot` of each labelled slot) as `label__name` arrays and `labels`."""
    arrays = {
        f"{label}__{k}": np.asarray(v)
        for label, snap in zip(labels, snaps, strict=True)
        for k, v in snap.items()
    }
    arrays["labels"] = np.asarray(list(labels))
    return arrays
