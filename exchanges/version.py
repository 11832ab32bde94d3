"""The btc-dca version (User-Agent, runs rows): the one place it is written.

``pyproject.toml`` reads it from here (hatch's dynamic version), so the installed
package and this constant never disagree, and nothing parses package metadata at start.
"""

__version__ = "0.1.0"
APP_VERSION = __version__
