"""Warehouse sources: read the export's inputs from Parquet, DuckDB or a SQL warehouse (or a CSV folder)."""
