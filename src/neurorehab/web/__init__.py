"""The clinic programme: a web application where clinicians prescribe, patients log, and the
model forecasts (`neurorehab serve`). Top layer: it uses the runners, io and models' declarations,
and nothing imports it."""
