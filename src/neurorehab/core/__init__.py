"""Pure numerics: state, plasticity rules, populations and the multi-timescale engine.

Nothing in this package reads a file, a config or a clock.
"""

from neurorehab.core.engine import Calendar, simulate, simulate_one
from neurorehab.core.types import NEUTRAL, Context, Modulation, State, Stimulus

__all__ = ["NEUTRAL", "Calendar", "Context", "Modulation", "State", "Stimulus", "simulate", "simulate_one"]
