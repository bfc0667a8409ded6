"""Files at the edge: atomic writes, Parquet results, the manifest and the run catalog."""
