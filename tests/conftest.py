import os

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture(autouse=True)
def _catalog(tmp_path, monkeypatch):
    """Every test records runs in its own catalog, never the user's."""
    monkeypatch.setenv("NEUROREHAB_CATALOG", f"sqlite:///{tmp_path / 'catalog.sqlite'}")


@pytest.fixture(autouse=True, scope="module")
def _fresh_compilations():
    """Each test module starts without the previous modules' compiled programs: XLA's CPU
    backend crashed (a segmentation fault while compiling) once some hundreds of executables
    had piled up in one process over the whole suite, though every module passes alone."""
    yield
    import jax

    from neurorehab.core import engine

    engine._batched.cache_clear()
    jax.clear_caches()
