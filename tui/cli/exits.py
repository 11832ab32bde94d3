"""The exit codes of every command (DESIGN.md): scripts depend on them."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_NO_VENUE = 3
EXIT_INTERRUPTED = 130
