"""The exit codes of every command (README: Commands): scripts depend on them."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_NO_VENUE = 3
# The run ended short of its amount (skips: above the maximum price, no venue, thin books);
# ``quote``: no venue (in this mode) can fill the whole amount.
EXIT_INCOMPLETE = 4
EXIT_INTERRUPTED = 130
