"""Grounding: the prompt the model reads, and each claim of its draft checked against article sentences."""
