"""Builds the parts the commands and the dashboard share: options, clock and market."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from exchanges.clock import Clock, RealClock, ScaledClock
from exchanges.market import MarketData
from exchanges.venues import VenueSpec
from storage.config import ConfigError, load_config
from storage.paths import resolve_paths

# The demo clock runs an hour a minute unless told otherwise, so a plan shows progress.
DEFAULT_DEMO_SPEED = 60.0


class LiveUnavailable(RuntimeError):
    """Live venues cannot be used in this build."""


@dataclass(frozen=True, slots=True)
class Options:
    """Options common to every command (from the command line and the environment)."""

    demo: bool = False
    speed: float | None = None
    quote: str | None = None
    venues: tuple[str, ...] | None = None
    mode: str | None = None
    max_price: str | None = None
    config: Path | None = None
    data_dir: Path | None = None
    verbose: bool = False
    seed: int = 7
    faults: bool = True

    @property
    def demo_speed(self) -> float:
        """The demo clock's speed factor."""
        return self.speed if self.speed is not None else DEFAULT_DEMO_SPEED


def make_clock(options: Options) -> Clock:
    """A scaled clock for the demo, the wall clock for live venues."""
    return ScaledClock(options.demo_speed) if options.demo else RealClock()


def make_market(
    options: Options,
    specs: Mapping[str, VenueSpec],
    clock: Clock,
    quote: str,
    venues: Sequence[str],
    *,
    peg_parity: bool | None = None,
) -> MarketData:
    """The simulated market for ``--demo``; live venues otherwise (URLs from config/env)."""
    if options.demo:
        from exchanges.simulated import SimulatedMarket, demo_faults  # not on live paths

        return SimulatedMarket(
            clock,
            quote=quote,
            venues=venues,
            specs=specs,
            seed=options.seed,
            faults=demo_faults(clock.now()) if options.faults else (),
            real_latency=True,
        )
    from exchanges.live import LiveMarket  # aiohttp only when live venues are used

    return LiveMarket(
        specs,
        quote,
        venues=[v for v in venues if v in specs],
        clock=clock,
        peg_parity=_peg_parity(options) if peg_parity is None else peg_parity,
    )


def _peg_parity(options: Options) -> bool:
    """The config's ``peg_parity`` (false when the config cannot be read: never assume parity)."""
    paths = resolve_paths(options.data_dir, options.config)
    try:
        return load_config(paths.config_file).peg_parity
    except (ConfigError, OSError):
        return False
