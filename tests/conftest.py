"""Every test, and every process a test starts, sees a keyring that fails on use: no test
reads or writes the real OS keyring (tests that need one install an in-memory keyring)."""

from __future__ import annotations

import os

os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
