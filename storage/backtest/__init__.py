"""Backtests: plans replayed over the recorded books."""
