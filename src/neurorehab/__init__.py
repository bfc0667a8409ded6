"""neurorehab: computational neurorehabilitation.

Plastic circuits, injuries, rehabilitation protocols and virtual patients, with pure JAX
numerics at the centre (`neurorehab.core`) and files, CLI and reports at the edges.
"""

__version__ = "0.1.0"
