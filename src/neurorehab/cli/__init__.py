"""The `neurorehab` command line (typer + rich)."""
