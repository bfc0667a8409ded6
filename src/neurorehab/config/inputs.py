"""Reading the files a user gives, within limits: hostile input gets a short error, never a hang.

A scenario file or a patient table can come from anywhere (a colleague, a web form, a fuzzer),
so every read here is bounded before anything is built from it:

- only regular files are read (not a FIFO, which would block, nor a device such as /dev/zero,
  which never ends), and at most `MAX_SCENARIO_BYTES` or `MAX_TABLE_BYTES` of them;
- YAML is composed into nodes first and checked before any value is built: nesting at most
  `MAX_DEPTH` levels, at most `MAX_VALUES` values written and as many once aliases are expanded (a 600-byte
  "billion laughs" file expands to 10^9), strings at most `MAX_STRING` characters, integers at
  most `MAX_DIGITS` digits, no alias inside the structure it names, no key given twice in one
  mapping (YAML's own rule; PyYAML keeps the last silently);
- a patient table has at most `MAX_ROWS` rows and `MAX_COLUMNS` columns of finite numbers.

Every refusal is an `InputError` whose lines name where (a field path or a line) and what
would be valid. The file's SHA-256 comes back with its content, so a run can record exactly
what it read (`neurorehab.runners` refuses to resume when it changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_SCENARIO_BYTES = 256 << 10  # 256 KiB: the largest bundled scenario is under 5 kB
MAX_TABLE_BYTES = 64 << 20  # 64 MiB: a million patients with a dozen columns
MAX_DEPTH = 32  # a scenario nests 6 levels deep (arms.0.protocol.0.adherence.initial)
MAX_VALUES = 100_000  # values after alias expansion: 20x the largest bundled scenario
MAX_STRING = 10_000  # characters in one string (a description paragraph fits)
MAX_DIGITS = 30  # digits of an integer (every integer field is far below 10^30)
MAX_ROWS = 1_000_000  # patient-table rows (the most patients a scenario can ask for)
MAX_COLUMNS = 1_000  # patient-table columns
SHOWN = 60  # characters of a bad value echoed in an error

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(ValueError):
    """A file a user gave cannot be read within the limits; `lines` say where and why."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("; ".join(lines))


def shorten(value: Any, limit: int = SHOWN) -> str:
    """repr(value), cut to `limit` characters with its full length said (errors stay short)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length():,} bits"
    try:
        text = value if isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} too large to show"
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    head = text[:limit]
    return (
        f"{head!r}... ({len(text):,} characters)"
        if isinstance(value, str)
        else f"{head}... ({len(text):,} characters)"
    )


def path_part(part: Any) -> str:
    """One key of a field path as an error shows it: as is when plain, else JSON-quoted; cut to
    40 characters either way."""
    text = str(part)
    cut = text if len(text) <= 40 else text[:40] + "..."
    return cut if re.fullmatch(r"[\w\-]+(\.\.\.)?", cut) else json.dumps(cut, ensure_ascii=False)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; InputError otherwise.

    Opened non-blocking, so a FIFO with no writer is refused at once instead of waiting.
    """
    p = str(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError([f"no such file: {shorten(p, 200)}"]) from None
    except OSError as err:
        raise InputError([f"cannot open {shorten(p, 200)}: {err.strerror or err}"]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError([f"{shorten(p, 200)} is {_kind(info.st_mode)}; a {what} must be a regular file"])
        if info.st_size > limit:
            raise InputError(
                [f"{shorten(p, 200)} is {info.st_size:,} bytes; a {what} may be at most {limit:,} bytes"]
            )
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while we read it
        raise InputError(
            [f"{shorten(p, 200)} is over {limit:,} bytes; a {what} may be at most {limit:,} bytes"]
        )
    return data


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a bounded nesting depth (its composer recurses per level) and
    value construction errors that say where they are."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_VALUES:
                mark = self.peek_event().start_mark
                raise InputError([f"line {mark.line + 1}: the file holds more than {MAX_VALUES:,} values"])
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                where = f"line {mark.line + 1}, column {mark.column + 1}"
                raise InputError([f"{where}: nested more than {MAX_DEPTH} levels deep"])
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:
            if isinstance(err, InputError):
                raise
            why = shorten(str(err), 120)
            raise InputError(
                [f"line {node.start_mark.line + 1}: cannot read {shorten(node.value)}: {why}"]
            ) from None


def _where(path: list[str], node: Node) -> str:
    shown = ".".join(path_part(p) for p in path) or "(top level)"
    return f"{shown} (line {node.start_mark.line + 1})"


def _check(root: Node) -> None:
    """Walk the composed graph once (aliases are shared nodes, so each is visited once, its
    expanded size memoised) and refuse what the limits forbid."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def walk(node: Node, path: list[str]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise InputError([f"{_where(path, node)}: an alias refers to the structure that contains it"])
        open_.add(key)
        n = 1
        if isinstance(node, ScalarNode):
            value = node.value
            if len(value) > MAX_STRING:
                raise InputError(
                    [f"{_where(path, node)}: a string of {len(value):,} characters; at most {MAX_STRING:,}"]
                )
            digits = sum(c.isalnum() for c in value.lstrip("+-").removeprefix("0x").removeprefix("0o"))
            if node.tag in (_INT_TAG, _FLOAT_TAG) and digits > MAX_DIGITS:
                why = f"a number of {digits:,} digits; numbers here have at most {MAX_DIGITS}"
                raise InputError([f"{_where(path, node)}: {why}"])
        elif isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                n += walk(child, [*path, str(i)])
        elif isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, ScalarNode) else "?"
                if isinstance(k, ScalarNode) and k.tag != _MERGE_TAG:
                    if name in seen:
                        raise InputError(
                            [
                                f"{_where([*path, name], k)}: the key {shorten(name)} is given twice in one "
                                f"mapping (lines {seen[name]} and {k.start_mark.line + 1}); keep one"
                            ]
                        )
                    seen[name] = k.start_mark.line + 1
                n += walk(k, path) + walk(v, [*path, name])
        if n > MAX_VALUES:
            raise InputError(
                [
                    f"{_where(path, node)}: aliases expand this to more than {MAX_VALUES:,} values "
                    "(an alias bomb?); write the values out, or alias less"
                ]
            )
        open_.discard(key)
        sizes[key] = n
        return n

    walk(root, [])


def parse_yaml(text: str) -> Any:
    """YAML text to Python data within the limits above; InputError (or yaml.YAMLError for
    malformed YAML) otherwise."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise InputError(
            [f"the text is {len(text):,} characters; a scenario may be at most {MAX_SCENARIO_BYTES:,}"]
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def yaml_error(err: yaml.YAMLError) -> str:
    """One line for malformed YAML: where and what."""
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"malformed YAML{where}: {shorten(str(problem), 200)}"


@dataclass(frozen=True)
class Table:
    """A patient table: its columns as float arrays and the SHA-256 of the file read."""

    columns: dict[str, np.ndarray]
    sha256: str
    rows: int


def read_table(path: str | Path) -> Table:
    """Read a patient CSV (a header of names, one row of numbers per patient) within the limits.

    Parsed by pyarrow's CSV reader (a million rows in about a second); cached by the file's
    path, size and modification time, so validation, compilation and every shard of a run read
    it once. InputError with the column or row at fault otherwise.
    """
    p = Path(path)
    try:
        info = p.stat()
        key = (str(p.resolve()), info.st_size, info.st_mtime_ns, info.st_ino)
    except OSError:
        key = (str(p), -1, -1, -1)
    return _read_table(*key)


@lru_cache(maxsize=8)
def _read_table(path: str, _size: int, _mtime: int, _inode: int) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    data = read_bytes(path, MAX_TABLE_BYTES, "patient table")
    digest = hashlib.sha256(data).hexdigest()
    name = shorten(path, 200)
    if not data.strip():
        raise InputError([f"{name} is empty; it needs a header row and at least one patient row"])
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            parse_options=pcsv.ParseOptions(newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as err:
        raise InputError(
            [f"{name} is not a readable CSV table: {shorten(str(err).splitlines()[0], 200)}"]
        ) from None
    if table.num_rows < 1:
        raise InputError([f"{name} needs a header row and at least one patient row"])
    if table.num_rows > MAX_ROWS:
        raise InputError(
            [f"{name} has {table.num_rows:,} rows; a patient table may have at most {MAX_ROWS:,}"]
        )
    if table.num_columns > MAX_COLUMNS:
        raise InputError(
            [f"{name} has {table.num_columns:,} columns; a patient table may have at most {MAX_COLUMNS:,}"]
        )
    columns: dict[str, np.ndarray] = {}
    for raw, column in zip(table.column_names, table.columns, strict=True):
        label = raw.strip()
        if label in columns:
            raise InputError([f"{name}: the column {shorten(label)} appears twice; name each column once"])
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)) or column.null_count:
            bad = _first_bad(column)
            raise InputError(
                [
                    f"{name}: column {shorten(label)} line {bad + 2} holds a missing or non-numeric value; "
                    "every cell must be a number"
                ]
            )
        values = column.to_numpy().astype(np.float64)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise InputError([f"{name}: column {shorten(label)} line {row + 2} holds NaN or infinity"])
        values.setflags(write=False)
        columns[label] = values
    return Table(columns, digest, table.num_rows)


def _first_bad(column: Any) -> int:
    """Index of the first cell of a column that is empty or not a number."""
    for i, cell in enumerate(column.to_pylist()):
        if cell is None:
            return i
        try:
            float(cell)
        except (TypeError, ValueError):
            return i
    return 0


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
