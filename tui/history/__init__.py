"""The history screen and its data: source, read-ahead cache, Arrow tables, Parquet reader."""
