"""Benchmarks of the training engines (a folder of its own: bench/ holds the twenty-module limit)."""
