"""Models, one folder each; every folder declares itself (`registry.ModelInfo`) and is found.

`models()` lists them (bundled and from other packages' entry points), `get(name)` returns one
declaration. The generic technique library is `models.interventions`; protocols compile in
`models.protocol`.
"""

from __future__ import annotations

from neurorehab.models.registry import ModelInfo, default_params, get, models, register

__all__ = ["ModelInfo", "default_params", "get", "models", "register"]
