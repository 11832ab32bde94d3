"""btc-dca: buy BTC by dollar-cost averaging at the best real price across exchanges.

The app lives in four layers (``tui`` above ``storage`` above ``dca`` above
``exchanges``; the README's map says what each holds). This package holds what
belongs to the whole app and to none of them: its version, written here once.
``pyproject.toml`` reads it from this file (hatch's dynamic version), so the
installed package and the constant never disagree, and nothing parses package
metadata at start. Every layer may import it; it imports nothing.
"""

__version__ = "0.1.0"
