"""What the trust boundary costs: how long a revoked token still works, and what checking an
inbound CAP signature takes.

    python bench/bench_trust.py                     # 20 revocations per deployment
    python bench/bench_trust.py --trials 50 --json out.json
    python bench/bench_trust.py --no-bus            # without NATS

Revocation: for each deployment (one `airwarn serve` on SQLite, one on PostgreSQL, and, when
NATS runs here, two engines and an edge on a bus), each trial makes a sensor token, reads
with it once from every process (so that each has it cached), revokes it with
`airwarn tokens revoke` (a separate process, on no bus) and polls every process every 10 ms
until it answers 401. The figure is the time from the CLI's exit to the last process's first
401. Servers are forked by tests/serverkit.py, as the tests do.

Signatures: `airwarn.cap.trust.judge` on a message signed with RSA-3072 / SHA-256 (as airwarn
signs its own), verified against one trusted certificate, and on an unsigned one.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from buskit import Cluster  # noqa: E402
from conftest import grid_zones, postgres_schema  # noqa: E402
from serverkit import Launcher, Server  # noqa: E402

from airwarn.engine.zones import write_zones, zones_from_geojson  # noqa: E402


def revocations(
    launcher: Launcher, folder: Path, db: str, servers: list[Server], trials: int
) -> list[float]:
    out = []
    with httpx.Client(timeout=5.0) as http:
        for trial in range(trials):
            name = f"bench-{trial}"
            token = launcher.run(
                ["tokens", "create", "--role", "sensor", "--name", name, "--db", db], folder
            ).strip()
            auth = {"Authorization": f"Bearer {token}"}
            for server in servers:
                answer = http.get(server.url + "/v1/alerts/active.json", headers=auth)
                assert answer.status_code == 200, answer.text
            launcher.run(["tokens", "revoke", name, "--db", db], folder)
            revoked = time.monotonic()
            waiting = set(range(len(servers)))
            while waiting and time.monotonic() - revoked < 5.0:
                for index in list(waiting):
                    answer = http.get(servers[index].url + "/v1/alerts/active.json", headers=auth)
                    if answer.status_code == 401:
                        waiting.discard(index)
                if waiting:
                    time.sleep(0.01)
            out.append(time.monotonic() - revoked if not waiting else float("inf"))
    return out


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[max(0, int(0.95 * len(ordered)) - 1)], 3),
        "max_s": round(ordered[-1], 3),
    }


def signatures(rounds: int) -> dict[str, float]:
    from shapely.geometry import box

    from airwarn.cap import CapWarning, CapZone, SigningKeys, build_cap, generate_keypair, sign
    from airwarn.cap.build import to_bytes
    from airwarn.cap.trust import judge

    keys = SigningKeys(*generate_keypair("bench"))
    zone = CapZone(id="x", name="x", region=None, geometry=box(34.61, 31.41, 34.69, 31.44))
    warning = CapWarning(
        identifier="b-1",
        sender="bench@example",
        sent_ms=1_772_388_000_000,
        status="Actual",
        msg_type="Alert",
        level="alert",
        kind="rocket",
        zones=(zone,),
    )
    signed, unsigned = sign(build_cap(warning), keys), to_bytes(build_cap(warning))
    trusted = [("sha256:bench", keys.cert_pem)]
    out = {}
    for label, body in (("verified", signed), ("unsigned", unsigned)):
        assert judge(body, "bench@example", trusted).trust == label
        started = time.perf_counter()
        for _ in range(rounds):
            judge(body, "bench@example", trusted)
        out[f"{label}_ms"] = round((time.perf_counter() - started) / rounds * 1000, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=200, help="signature checks timed")
    parser.add_argument("--no-bus", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(mkdtemp(prefix="bench-trust-"))
    zones = folder / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones)
    results: dict[str, Any] = {}
    launcher = Launcher()
    try:
        with postgres_schema() as pg:
            for label, db in (("sqlite", f"sqlite:///{folder / 'airwarn.db'}"), ("postgresql", pg)):
                server = Server(
                    launcher,
                    [
                        "--zones",
                        str(zones),
                        "--db",
                        db,
                        "--keys",
                        str(folder / "keys"),
                        "--no-push",
                        "--no-webhooks",
                    ],
                    folder / f"{label}.log",
                )
                server.start()
                try:
                    results[label] = summary(
                        revocations(launcher, folder, db, [server], args.trials)
                    )
                finally:
                    server.stop()
                print(label, results[label], flush=True)
        with socket.socket() as probe:
            probe.settimeout(1)
            nats_up = probe.connect_ex(("127.0.0.1", 4222)) == 0
        if nats_up and not args.no_bus:
            with postgres_schema() as pg:
                cluster = Cluster(launcher, folder, zones, pg)
                cluster.start()
                try:
                    servers = [cluster.edge, *cluster.engines]
                    results["bus (edge, leader, standby)"] = summary(
                        revocations(launcher, folder, pg, servers, args.trials)
                    )
                finally:
                    cluster.stop()
                print("bus", results["bus (edge, leader, standby)"], flush=True)
    finally:
        launcher.close()
    results["signature check"] = signatures(args.rounds)
    print("signature check", results["signature check"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
