"""Benchmark scripts; each records its results in RESULTS.md beside it."""
