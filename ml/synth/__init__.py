"""Synthetic data generators for the demo shop and its click logs."""
