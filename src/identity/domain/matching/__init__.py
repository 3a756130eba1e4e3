"""Probabilistic matching (Fellegi-Sunter), as declarative configuration. Pure: no I/O."""
