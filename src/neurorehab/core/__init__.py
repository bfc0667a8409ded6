"""Pure numerics: state, plasticity rules, populations, the model contract and the engine.

Nothing in this package reads a file, a config or a clock, and nothing names a model.
"""

from neurorehab.core.engine import Calendar, simulate, simulate_one
from neurorehab.core.model import Event, Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import NEUTRAL, Context, Modulation, State, Stimulus

__all__ = [
    "NEUTRAL",
    "Calendar",
    "Context",
    "Event",
    "Measure",
    "Model",
    "Modulation",
    "Param",
    "State",
    "Stimulus",
    "simulate",
    "simulate_one",
]
