"""Runs across processes: seeing and steering a run that another process executes,
and the locks between processes."""
