"""The click-through ranker: features, training table, serving and reports."""
