"""How fast a run in another process obeys pause/unpause, and how long `run --detach` takes.

1. Steering: a demo run executes in a child process (`btc-dca run --detach`); this
   process sends pause and unpause through the control file 10 times each and times
   each from the request to the state file saying it was done. The promise is 2 s.
2. Detach: wall time of `btc-dca run --detach --demo ...` until it returns (the run is
   recorded as started by then), 5 times.

    .venv/bin/python bench/bench_control.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storage.runs.control import Command, steer

ROUNDS = 10
DETACHES = 5


def detach(data: Path) -> tuple[str, float]:
    began = time.perf_counter()
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("btc-dca")),
            "run",
            "--detach",
            "--json",
            "--demo",
            "--amount",
            "0.5",
            "--duration",
            "2d",
            "--data-dir",
            str(data),
            "--config",
            str(data / "config.toml"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return str(json.loads(out)["run_id"]), time.perf_counter() - began


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        starts: list[float] = []
        run_ids: list[str] = []
        for _ in range(DETACHES):
            run_id, took = detach(data)
            run_ids.append(run_id)
            starts.append(took)
        times: list[float] = []
        for _ in range(ROUNDS):
            for command in (Command.PAUSE, Command.UNPAUSE):
                began = time.perf_counter()
                steer(data, run_ids[0], command)
                times.append(time.perf_counter() - began)
        for run_id in run_ids:
            steer(data, run_id, Command.CANCEL)
    print(f"run --detach until recorded as started, {DETACHES} runs:")
    print(f"  median {statistics.median(starts):.2f} s, max {max(starts):.2f} s")
    print(f"pause/unpause from another process until done, {len(times)} commands:")
    print(
        f"  median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms (promise: 2000 ms; the run polls every 500 ms)"
    )


if __name__ == "__main__":
    main()
