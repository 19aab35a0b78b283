"""Customer segments: training inputs, serving, and the admin reports."""
