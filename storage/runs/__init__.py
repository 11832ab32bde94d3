"""Runs across processes: seeing and steering a run that another process executes, the
locks between processes, and what a run executed here attaches for them (live files, alerts)."""
