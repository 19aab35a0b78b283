"""The training job and its bookkeeping: shop events in, a published model version out."""
