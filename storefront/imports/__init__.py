"""Importers of external files (DATA_FORMATS.md): all or nothing, line-numbered errors, a ledger."""
