"""Promotional campaigns: the home banner slot and their management."""
