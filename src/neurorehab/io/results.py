"""Tidy results: one row per arm x patient x day x measure, in Parquet, queried with DuckDB.

A run writes one shard file per (arm, chunk of patients), atomically; the merged
`results.parquet` is written only once every shard is there.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from neurorehab.io.atomic import write_atomic

SCHEMA = pa.schema(
    [
        ("arm", pa.string()),
        ("patient", pa.int32()),
        ("day", pa.int32()),
        ("minute", pa.int32()),
        ("measure", pa.string()),
        ("value", pa.float64()),
        ("failure", pa.int8()),
    ]
)


def tidy_table(
    arm: str,
    patient_ids: np.ndarray,
    days: np.ndarray,
    measures: dict[str, np.ndarray],
    codes: np.ndarray,
    *,
    minutes: np.ndarray | None = None,
) -> pa.Table:
    """Long table from measures[name] of shape [patients, assessments]; `minutes`: each
    assessment's clock time (minutes after midnight; several on a day are retests)."""
    n_p, n_d = len(patient_ids), len(days)
    minutes = np.zeros(n_d, np.int32) if minutes is None else np.asarray(minutes)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in SCHEMA.names}
    for name, values in measures.items():
        cols["patient"].append(np.repeat(patient_ids, n_d))
        cols["day"].append(np.tile(days, n_p))
        cols["minute"].append(np.tile(minutes, n_p))
        cols["measure"].append(np.full(n_p * n_d, name, dtype=object))
        cols["value"].append(np.asarray(values, np.float64).reshape(-1))
        cols["failure"].append(np.repeat(codes, n_d))
    n = sum(len(x) for x in cols["value"])
    arrays = {
        "arm": pa.array(np.full(n, arm, dtype=object), pa.string()),
        **{
            k: pa.array(np.concatenate(cols[k]), SCHEMA.field(k).type)
            for k in ("patient", "day", "minute", "measure", "value", "failure")
        },
    }
    return pa.table(arrays, schema=SCHEMA)


def write_parquet(path: Path, table: pa.Table) -> None:
    write_atomic(path, lambda p: pq.write_table(table, p, compression="zstd"))


def merge_shards(shards: list[Path], out: Path) -> None:
    """Concatenate shard files (in the given order) into one Parquet file, atomically, one
    shard in memory at a time (a 100,000-patient run's results never sit in memory whole)."""

    def write(path: Path) -> None:
        with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
            for shard in shards:
                writer.write_table(pq.read_table(shard, schema=SCHEMA))

    write_atomic(out, write)


def query(results: str | Path, sql: str) -> duckdb.DuckDBPyRelation:
    """Run SQL over a results file (or run folder); the table is called `results`, and `daily`
    holds each day's last assessment per arm, patient and measure (a day's retests and earlier
    clock-time assessments left out), what the report's figures and the trial analyse.

    Example: query("runs/demo", "select arm, avg(value) from results where measure =
    'MEASURE' and day = 56 group by arm").
    """
    path = Path(results)
    if path.is_dir():
        path = path / "results.parquet"
    con = duckdb.connect()
    quoted = path.as_posix().replace("'", "''")
    con.execute(f"create view results as select * from read_parquet('{quoted}')")
    con.execute(
        "create view daily as select * from results qualify row_number() over "
        "(partition by arm, patient, day, measure order by minute desc) = 1"
    )
    return con.sql(sql)
