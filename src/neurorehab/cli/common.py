"""What every command shares: the consoles, and plain errors for a user's mistakes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """A mistake the user can fix; printed plainly, exit code 2."""


@contextmanager
def _plain_errors() -> Iterator[None]:
    from neurorehab.config import ScenarioError
    from neurorehab.io.history import HistoryError
    from neurorehab.runners import RunError
    from neurorehab.runners.fit_sims import PatientError
    from neurorehab.viz.report import ReportError

    try:
        yield
    except (ScenarioError, HistoryError) as err:
        err_console.print(f"[bold red]error[/] in {escape(err.source)}:", highlight=False)
        for line in err.lines:
            err_console.print(f"  - {line}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    except (RunError, ReportError, UserError, PatientError) as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; shards already written are kept: run again with --resume")
        raise typer.Exit(130) from None


# Programs that took less than this to compile are not kept: reading one back costs about as much.
MIN_COMPILE_S = 1.0


def _cpu_kind() -> str:
    """A short tag of this CPU's model and instruction sets. Programs compiled for one kind of
    CPU are kept apart from another's, so the nodes of a cluster that share a home folder never
    load each other's machine code."""
    import hashlib
    import platform

    text = platform.machine()
    seen: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key = line.split(":", 1)[0].strip()
            if key in ("model name", "flags", "Features", "CPU part") and key not in seen:
                seen.add(key)
                text += "\n" + line
    except OSError:
        text += platform.processor()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def compilation_cache() -> None:
    """Keep XLA's compiled programs between commands, in the user's cache folder
    ($XDG_CACHE_HOME/neurorehab/jax, a folder for each kind of CPU): a second fit or forecast
    of a model skips compilation (a third of a cold forecast's time), as does a second run of a
    scenario of the same shape. Only programs are kept, never a patient's numbers, and a
    program read back is the one compiled, so the numbers are the same either way. The folder
    is also put in the environment, for the worker processes a run starts."""
    import os

    import jax

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    try:
        folder = root / "neurorehab" / "jax" / _cpu_kind()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # no writable cache: every command compiles afresh
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(MIN_COMPILE_S)
