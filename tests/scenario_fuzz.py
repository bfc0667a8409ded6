"""Hostile scenario files, generated: the bundled scenarios mutated as a careless or malicious
user would (wrong types, huge and odd numbers, long strings, missing and unknown keys, deep
nesting, aliases, duplicate keys, broken YAML), for the fuzz test and bench/fuzz.py.

`hostile_text(rng)` returns one scenario file's text; `check(text, folder)` validates it the
way `neurorehab validate` does and returns what happened. Only `random.Random` is used, so
hypothesis (`st.randoms()`) and a seeded bench draw from the same generator.
"""

from __future__ import annotations

import copy
import random
import re
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASES = [
    yaml.safe_load(p.read_text())
    for p in [
        *sorted((ROOT / "scenarios").glob("*.yaml")),
        ROOT / "src" / "neurorehab" / "scenarios" / "demo.yaml",
    ]
]

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1,
    2**31,
    2**63,
    10**40,
    -(10**30),
    0.5,
    -0.0,
    1e308,
    1e-320,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "x",
    "nan",
    "1e999",
    "2001-02-30",
    "fixed",
    "normal",
    "lognormal",
    "uniform",
    "motor",
    "pathway",
    "task-practice",
    "cimt",
    "../../etc/passwd",
    "/dev/zero",
    "é✓\u202e",
    "x" * 5_000,
    [],
    [1, 2, 3],
    [[[[]]]],
    {},
    {"dist": "normal"},
    {"dist": "gamma", "mean": 1},
    {"dist": "uniform", "low": 2, "high": 1},
    {"dist": "lognormal", "median": -1, "sd_log": 1},
    {"value": 3},
    {"a": {"b": {"c": {}}}},
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


def _odd(rng: random.Random) -> Any:
    if rng.random() < 0.15:
        depth = rng.randint(1, 60)
        value: Any = rng.choice(ODD_VALUES[:20])
        for _ in range(depth):
            value = [value] if rng.random() < 0.5 else {"k": value}
        return value
    return copy.deepcopy(rng.choice(ODD_VALUES))


def mutate(rng: random.Random, data: dict[str, Any], n: int) -> dict[str, Any]:
    """Apply n random structural mutations to a deep copy of `data`."""
    data = copy.deepcopy(data)
    for _ in range(n):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent, key = _get(data, path[:-1]), path[-1]
        op = rng.random()
        if op < 0.45:
            parent[key] = _odd(rng)
        elif op < 0.6 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.7 and isinstance(parent, dict):
            parent[rng.choice(["extra", "Seed", "dist", "params", str(key) + "_", "x" * 300])] = _odd(rng)
        elif op < 0.8 and isinstance(parent, list) and len(paths) < 2_000:
            parent.extend(copy.deepcopy(parent[:1]) * rng.randint(1, 300))
        elif op < 0.9:
            value = parent[key]
            if isinstance(value, int | float) and not isinstance(value, bool):
                parent[key] = rng.choice([value * 10 ** rng.randint(1, 30), -value, value + 0.5, value - 1])
            else:
                parent[key] = _odd(rng)
        elif len(paths) < 2_000:
            parent[key] = copy.deepcopy(_get(data, rng.choice(paths)[:1]))  # a whole section elsewhere
    return data


def _text_mutation(rng: random.Random, text: str) -> str:
    op = rng.random()
    if op < 0.2:  # duplicate a top-level line (duplicate key)
        lines = text.splitlines()
        tops = [i for i, line in enumerate(lines) if re.match(r"^[a-z_]+:", line)]
        if tops:
            i = rng.choice(tops)
            lines.insert(i + 1, lines[i])
        return "\n".join(lines)
    if op < 0.4:  # cut the file anywhere
        return text[: rng.randint(0, len(text))]
    if op < 0.55:  # an alias bomb appended, or in place of the arms
        levels = rng.randint(3, 12)
        width = rng.randint(2, 12)
        bomb = "x0: &a0 [" + ", ".join(["lol"] * width) + "]\n"
        for k in range(1, levels):
            bomb += f"x{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]\n"
        if rng.random() < 0.5:
            return text + "\n" + bomb
        return re.sub(r"(?m)^arms:", bomb + f"arms: [*a{levels - 1}]\nold_arms:", text, count=1)
    if op < 0.65:  # deep nesting
        depth = rng.randint(20, 2_000)
        return text + "\ndeep: " + "[" * depth + "]" * depth + "\n"
    if op < 0.75:  # random bytes and YAML syntax
        pos = rng.randint(0, len(text))
        junk = "".join(rng.choice("{}[]:,&*!|>-?'\"#%@`\t\n \\0x") for _ in range(rng.randint(1, 40)))
        return text[:pos] + junk + text[pos:]
    if op < 0.85:  # tags
        pos = text.find("seed:")
        tag = rng.choice(
            ["!!python/object:os.system", "!!binary", "!!set", "!!timestamp", "!!float", "!!str"]
        )
        return text[:pos] + f"seed: {tag} 12\n" + text[pos:] if pos >= 0 else text
    if op < 0.89:  # a long integer anywhere a number is, decimal or hexadecimal
        big = "9" * rng.randint(20, 6_000) if rng.random() < 0.5 else "0x" + "f" * rng.randint(20, 6_000)
        return re.sub(r"\b\d+\b", big, text, count=rng.randint(1, 3))
    if op < 0.92:  # many long blocks at distinct hours: a calendar of 10^6 sessions
        blocks = "".join(
            f"  - {{intervention: task-practice, start_day: 1, days: 3649, sessions_per_week: 7, "
            f"repetitions: 1, hour: {9 + 0.01 * i:.2f}}}\n"
            for i in range(rng.randint(5, 300))
        )
        return re.sub(r"(?m)^arms:", f"arms:\n- name: many\n  protocol:\n{blocks}old_arms:", text, count=1)
    return text + "\nself: &s [1, *s]\n"  # an alias inside itself


def hostile_text(rng: random.Random) -> str:
    """One hostile scenario file's text."""
    base = rng.choice(BASES)
    data = mutate(rng, base, rng.choice([0, 1, 1, 2, 3, 5, 10]))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)
    if rng.random() < 0.45:
        text = _text_mutation(rng, text)
    return text


LOCATED = re.compile(
    r"^(\(top level\)|\(file\)|line \d+|malformed YAML|\.\.\. and \d+ more"
    r'|(?P<path>(?:[^\s:"]++|"(?:[^"\\]|\\.)*+"| \([^)]*+\))++): )'
)  # an error line starts with where: a field path (maybe with its line), a line, or the file


def located(line: str) -> bool:
    """Whether an error line starts with where its problem is: a line, the file, or a field path
    whose first key is a scenario field (or an unknown key it names)."""
    from neurorehab.config.scenario import Scenario

    m = LOCATED.match(line)
    if m is None:
        return False
    if m.group("path") is None:
        return True
    if re.search(r" \(line \d+\)$", m.group("path")):
        return True  # a path in the file, from the reader's checks
    first = re.split(r"[.\[ ]", m.group("path"), maxsplit=1)[0]
    return first in Scenario.model_fields or "unknown key" in line


def check(text: str, folder: Path) -> dict[str, Any]:
    """Validate `text` as `neurorehab validate` does (load, then compile). Returns outcome
    ("valid", "error" or "crash"), the error text, its length, whether every error line is
    located (a field path or a line), seconds, and the exception type of a crash."""
    from neurorehab.config import ScenarioError, compile_scenario, load_scenario

    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    t = time.perf_counter()
    try:
        compile_scenario(load_scenario(path))
    except ScenarioError as err:
        seconds = time.perf_counter() - t
        message = "\n".join(err.lines)
        return {
            "outcome": "error",
            "message": message,
            "chars": len(message),
            "located": all(located(line) for line in err.lines),
            "seconds": seconds,
        }
    except Exception as err:  # the fuzz test's target: nothing may get here
        return {
            "outcome": "crash",
            "message": f"{type(err).__name__}: {str(err)[:300]}",
            "chars": 0,
            "located": False,
            "seconds": time.perf_counter() - t,
        }
    return {
        "outcome": "valid",
        "message": "",
        "chars": 0,
        "located": True,
        "seconds": time.perf_counter() - t,
    }
