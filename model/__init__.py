"""The vocabulary every package shares: enums, field limits and patches, errors, the clock.

A leaf: it imports nothing of ours, so any package may import it without an arrow back.
"""
