"""Tracking: visitors, the events they generate (implicit feedback), widget impressions and clicks."""
