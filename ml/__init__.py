"""Recommendation and analytics library for storefront.

Pure Python (pandas, numpy, scipy, implicit, gensim, torch, scikit-learn): it never imports
Flask, SQLAlchemy or the ``storefront`` package. Inputs are DataFrames/arrays, outputs are
artifacts on disk and plain dicts, so everything here can be used with a CSV file alone.
"""
