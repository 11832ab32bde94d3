"""The command line: parsing, one module per command, exit codes, printers (no Textual)."""
