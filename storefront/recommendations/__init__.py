"""Recommendations in the web worker: the widget registry, strategy chains, serve-time rules."""
