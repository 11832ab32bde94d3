"""The Parquet history: runs, tranches and quotes, written and read."""
