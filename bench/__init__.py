"""Benchmarks: `make bench` runs them and appends the results to BENCHMARKS.md."""
