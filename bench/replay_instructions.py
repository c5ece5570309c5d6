"""Instructions the engine executes to replay bench_replay.py's raid: a figure this machine's
noisy timings cannot blur (it counts work, not time; GEOS and numpy calls count by their
instructions, so it is a proxy for CPU time, not a measure of it).

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        python bench/replay_instructions.py            # the whole raid (about 10 minutes)
    ... python bench/replay_instructions.py 8000 20000 # events 8,000 to 20,000 only

valgrind prints "Collected : N": the instructions of `Engine.apply` over those events (the
events before the window are applied uninstrumented; building the zones and the raid is not
counted). Compare two trees with PYTHONPATH=<other tree> in front of the same command.
"""

from __future__ import annotations

import os
import subprocess
import sys

from bench_replay import raid

from airwarn.engine import Engine


def collect(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True,
        capture_output=True,
    )


def main() -> None:
    zones, events = raid()
    start = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    stop = int(sys.argv[2]) if len(sys.argv) > 2 else len(events)
    engine = Engine(zones)
    for event in events[:start]:
        engine.apply(event)
    collect(True)
    for event in events[start:stop]:
        engine.apply(event)
    collect(False)
    print(f"events {start}-{stop} of {len(events)}; decisions: {engine.seq}", file=sys.stderr)


if __name__ == "__main__":
    main()
