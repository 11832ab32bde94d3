"""The installed btc-dca version (User-Agent, runs rows), read once at import."""

from importlib import metadata


def _installed_version() -> str:
    try:
        return metadata.version("btc-dca")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed in the venv
        return "unknown"


APP_VERSION = _installed_version()
