"""Readers for real recorded venue traffic: the folder ``BTC_DCA_CAPTURED`` names (see its
README), kept outside this repository; the tests that read it skip without it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

CAPTURED = Path(os.environ.get("BTC_DCA_CAPTURED", "/work/shared/fixtures/captured"))


@dataclass(frozen=True)
class Snapshot:
    """One recorded REST answer: the URL asked, when it arrived, the raw body."""

    url: str
    received: float
    body: str


@dataclass(frozen=True)
class Frame:
    """One socket message received, with its arrival time."""

    received: float
    text: str


def rest_snapshots(name: str) -> list[Snapshot]:
    """Every REST call in a ``*.http.*`` capture."""
    out = []
    for line in (CAPTURED / name).read_text().splitlines():
        if not line.strip():
            continue
        head, _, body = line.partition(": ")
        url, _, when = head.partition(" -> ")
        out.append(Snapshot(url, float(when), body))
    return out


def ws_frames(name: str) -> list[Frame]:
    """The received messages of a ``*.ws.*`` capture (the client's own sends left out)."""
    lines = (CAPTURED / name).read_text().splitlines()[1:]
    out = []
    for line in lines:
        if not line.strip() or line.startswith("wss://"):
            continue
        when, _, text = line.partition(": ")
        out.append(Frame(float(when), text))
    return out


def stream_of(frames: list[Frame], key: str, value: str) -> list[Frame]:
    """Frames whose decoded JSON has ``key == value`` at the top level."""
    return [f for f in frames if json.loads(f.text).get(key) == value]


def available() -> bool:
    """Whether the captures are present on this machine."""
    return (CAPTURED / "README.md").exists()
