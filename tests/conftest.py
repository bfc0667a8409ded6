import os

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture(autouse=True)
def _catalog(tmp_path, monkeypatch):
    """Every test records runs in its own catalog, never the user's."""
    monkeypatch.setenv("NEUROREHAB_CATALOG", f"sqlite:///{tmp_path / 'catalog.sqlite'}")
