"""Cohort-level analyses of simulated patients (numbers in, numbers out; no I/O).

Analyses that belong to one model (e.g. `motor`'s proportional recovery and dose threshold)
live in that model's folder.
"""
