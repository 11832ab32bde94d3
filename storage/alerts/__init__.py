"""Alerts: what the config says, and sending them through apprise."""
