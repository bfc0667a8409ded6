"""Hostile input, at scale: 10,000 generated scenario files through validation, and the cost of
a large patient table.

    python bench/fuzz.py                 # 10,000 files (about 3 minutes on 2 cores) and the table
    python bench/fuzz.py --files 1000 --no-table
    python bench/fuzz.py --json

Files: tests/scenario_fuzz.py's generator (the bundled scenarios mutated: wrong types, odd
numbers, long strings, missing and unknown keys, deep nesting, alias bombs, duplicate keys,
broken YAML, tags), each validated as `neurorehab validate` does (load, then compile), in this
process, with a 10 s alarm per file. Counted: outcomes, tracebacks (any exception other than a
ScenarioError), files past 10 s, error lengths, and error lines that do not start with where
the problem is (a field path or a line). Bars (issue 20): 0 tracebacks, 0 past 10 s, every
error under 2,000 characters and located.

Table: the same 8-patient `pathway` run with a 2-row and a 1,000,000-row patient table, side
by side in this process after a warm-up run that compiles (the issue found 35 s against 130 s
end to end: the table was parsed with Python's csv module several times), and the time to
parse each table once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


class _Alarm(BaseException):  # not an Exception: check() must not catch it as a "crash"
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Alarm


def files(n: int, seed: int) -> dict[str, object]:
    from scenario_fuzz import check, hostile_text

    folder = Path(tempfile.mkdtemp(prefix="nr-fuzz-"))
    signal.signal(signal.SIGALRM, _alarm)
    outcomes: Counter[str] = Counter()
    seconds, chars, crashes, unlocated, slow, slow_files = [], [], [], [], 0, []
    t0 = time.perf_counter()
    for i in range(n):
        text = hostile_text(random.Random(seed * 1_000_003 + i))
        signal.alarm(10)
        try:
            r = check(text, folder)
        except _Alarm:
            slow += 1
            outcomes["past 10 s"] += 1
            slow_files.append(i)
            continue
        finally:
            signal.alarm(0)
        outcomes[r["outcome"]] += 1
        seconds.append(r["seconds"])
        if r["outcome"] == "crash":
            crashes.append((i, r["message"]))
        if r["outcome"] == "error":
            chars.append(r["chars"])
            if not r["located"]:
                unlocated.append((i, r["message"][:200]))
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1:,} files, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    seconds.sort()
    return {
        "files": n,
        "seed": seed,
        "outcomes": dict(outcomes),
        "tracebacks": len(crashes),
        "past_10_s": slow,
        "slowest_s": round(seconds[-1], 3) if seconds else None,
        "p99_s": round(seconds[int(0.99 * (len(seconds) - 1))], 4) if seconds else None,
        "median_s": round(statistics.median(seconds), 4) if seconds else None,
        "longest_error_chars": max(chars) if chars else 0,
        "errors_over_2000_chars": sum(c >= 2000 for c in chars),
        "unlocated_errors": len(unlocated),
        "examples": {"tracebacks": crashes[:5], "unlocated": unlocated[:5], "past_10_s": slow_files[:5]},
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def table(rows_big: int) -> dict[str, object]:
    import numpy as np

    from neurorehab.config import load_scenario
    from neurorehab.runners import run_scenario

    folder = Path(tempfile.mkdtemp(prefix="nr-table-"))
    scenario = {
        "name": "table",
        "model": "pathway",
        "seed": 1,
        "duration_days": 28,
        "patients": {"count": 8, "table": "t.csv"},
        "events": [{"kind": "lose-b", "day": 1}],
        "arms": [{"name": "practice", "protocol": [{"start_day": 3, "weeks": 3, "sessions_per_week": 5,
                                                      "repetitions": 50}]}],
        "chunk_size": 8,
    }  # fmt: skip
    import yaml

    from neurorehab.config import inputs

    out: dict[str, object] = {}
    rng = np.random.default_rng(0)
    for label, rows in (("warm_up", 2), ("rows_2", 2), (f"rows_{rows_big}", rows_big)):
        sub = folder / label
        sub.mkdir()
        lr = rng.uniform(0.005, 0.02, rows)
        age = rng.integers(40, 90, rows)
        with open(sub / "t.csv", "w") as fh:
            fh.write("learning_rate,age\n")
            fh.writelines(f"{a:.6f},{b}\n" for a, b in zip(lr, age, strict=True))
        (sub / "s.yaml").write_text(yaml.safe_dump(scenario))
        t = time.perf_counter()
        run_scenario(load_scenario(sub / "s.yaml"), sub / "run")
        wall = time.perf_counter() - t
        inputs._read_table.cache_clear()
        t = time.perf_counter()
        inputs.read_table(sub / "t.csv")
        parse = time.perf_counter() - t
        t = time.perf_counter()
        _csv_module(sub / "t.csv")
        before = time.perf_counter() - t
        if label != "warm_up":  # the first run compiles; the two measured runs share it
            out[label] = {
                "run_s": round(wall, 2),
                "parse_s": round(parse, 3),
                "csv_module_parse_s": round(before, 3),
                "bytes": (sub / "t.csv").stat().st_size,
            }
    return out


def _csv_module(path: Path) -> None:
    """One parse the way the previous reader did it (csv module, a float() per cell), for the
    side-by-side ratio; it ran three or more times a run (validation twice, compilation)."""
    import csv

    import numpy as np

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    body = [r for r in rows[1:] if r]
    for j in range(len(rows[0])):
        np.asarray([float(r[j]) for r in body])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=20)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--no-table", action="store_true")
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()
    result: dict[str, object] = {"fuzz": files(cfg.files, cfg.seed)}
    if not cfg.no_table:
        result["table"] = table(cfg.rows)
    if cfg.json:
        print(json.dumps(result, indent=2))
        return
    f = result["fuzz"]
    assert isinstance(f, dict)
    print(f"{f['files']:,} generated scenario files (seed {f['seed']}) in {f['wall_s']} s: {f['outcomes']}")
    print(
        f"  tracebacks {f['tracebacks']}, past 10 s {f['past_10_s']}, slowest {f['slowest_s']} s, "
        f"p99 {f['p99_s']} s, median {f['median_s']} s"
    )
    print(
        f"  longest error {f['longest_error_chars']:,} characters, "
        f"over 2,000: {f['errors_over_2000_chars']}, "
        f"not located: {f['unlocated_errors']}"
    )
    if "table" in result:
        print(f"  8-patient pathway run with a patient table: {json.dumps(result['table'])}")


if __name__ == "__main__":
    main()
