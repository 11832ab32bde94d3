"""Private venue access for real orders: keys, accounts, orders (ccxt underneath).

Nothing here is imported by quotes, paper runs or the dashboard's start: ccxt loads
only when real orders are asked for (``account_for``).
"""
