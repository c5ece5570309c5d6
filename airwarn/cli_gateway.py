"""`airwarn gateway asterix` (radar data in) and `airwarn asterix encode|play` (ASTERIX made
from a simulated raid, for trials and tests)."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from airwarn.errors import AirwarnError

err = Console(stderr=True)
gateway_app = typer.Typer(
    help="Take sensor data in as sensors publish it, and post it to an airwarn server as a "
    "sensor.\n\n"
    "Example:\n\n"
    "airwarn gateway asterix --listen 239.255.62.1:30062 --token $SENSOR --kinds kinds.toml",
    no_args_is_help=True,
)
asterix_app = typer.Typer(
    help="Make ASTERIX from a simulated raid and play it on UDP, to try `airwarn gateway "
    "asterix` without a radar.\n\n"
    "Examples:\n\n"
    "airwarn asterix encode --events raid/events.jsonl --out raid-ast/\n\n"
    "airwarn asterix play raid-ast/ --to 239.255.62.1:30062 --speed 10",
    no_args_is_help=True,
)


def _fail(error: Exception, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _say(text: str) -> None:
    err.print(text, highlight=False, markup=False, soft_wrap=True)


@gateway_app.command("asterix")
def gateway_asterix(
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            "-l",
            help="Where the ASTERIX arrives: IP:PORT (unicast), a multicast "
            "group such as 239.255.62.1:30062, or IPv6 in brackets: [::1]:PORT, "
            "[ff15::62]:PORT.",
        ),
    ],
    server: Annotated[
        str, typer.Option("--server", "-s", help="The airwarn server's base URL.")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str,
        typer.Option(
            "--token",
            envvar="AIRWARN_TOKEN",
            help="A sensor token (`airwarn tokens create "
            "--role sensor --name radar-1`); or set AIRWARN_TOKEN.",
            show_default=False,
        ),
    ] = "",
    kinds: Annotated[
        Path | None,
        typer.Option(
            "--kinds",
            "-k",
            help="Kind rules (TOML; see docs/inputs.md). Without: every track is `unknown`.",
        ),
    ] = None,
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            help="Multicast: the interface to join on (an IPv4 address such as "
            "127.0.0.1, or an interface name for IPv6).",
        ),
    ] = None,
    radar: Annotated[
        list[str] | None,
        typer.Option(
            "--radar",
            help="A CAT048 radar's site, SAC/SIC=LAT,LON[,ALT_M] (height above the "
            "WGS-84 ellipsoid); repeat for each radar.",
        ),
    ] = None,
    system_centre: Annotated[
        list[str] | None,
        typer.Option(
            "--system-centre",
            help="A CAT062 tracker's system reference point, "
            "SAC/SIC=LAT,LON: turns I062/100 plane positions into WGS-84 and I062/185 velocities "
            "into east/north. Without it I062/185 is taken as east/north.",
        ),
    ] = None,
    sigma_m: Annotated[
        float | None,
        typer.Option(
            "--sigma-m",
            min=0.1,
            help="1-sigma position error for records that carry none "
            "(default: the engine's per-kind default).",
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The UTC date of the first record (YYYY-MM-DD), for a recording or a "
            "lab run; ASTERIX carries only the time of day. Default: the day nearest the wall "
            "clock (live feeds).",
        ),
    ] = None,
    accept_simulated: Annotated[
        bool,
        typer.Option(
            "--accept-simulated",
            help="Forward records their source marks simulated "
            "(I062/080 SIM, I048/020 SIM). Off by default: a simulated track must never alert "
            "real people. Use it with a lab server.",
        ),
    ] = False,
    buffer: Annotated[
        Path,
        typer.Option(
            "--buffer",
            help="Folder of the on-disk buffer of batches the server has not yet "
            "taken (kept across restarts).",
        ),
    ] = Path("airwarn-gateway"),
    buffer_mb: Annotated[
        float,
        typer.Option(
            "--buffer-mb",
            min=0.1,
            help="The buffer's size limit; past it, events are dropped and reported.",
        ),
    ] = 256.0,
    rcvbuf_kb: Annotated[
        int,
        typer.Option(
            "--rcvbuf-kb",
            min=64,
            help="UDP receive buffer asked of the kernel (it may give "
            "less: see net.core.rmem_max); a flood beyond it is dropped by the kernel and "
            "counted.",
        ),
    ] = 4096,
    batch_events: Annotated[
        int, typer.Option("--batch-events", min=1, max=20_000, help="Events per batch at most.")
    ] = 500,
    batch_ms: Annotated[
        float,
        typer.Option(
            "--batch-ms",
            min=0,
            help="A batch is closed "
            "(written to the buffer, then posted) this long "
            "after its first event at the latest.",
        ),
    ] = 50.0,
    post_events: Annotated[
        int,
        typer.Option(
            "--post-events",
            min=1,
            max=20_000,
            help="Events per request at most: batches that "
            "wait while the server answers earlier ones are posted together up to this (keep it "
            "within the server's lines per batch, 20,000 by default).",
        ),
    ] = 5000,
    status_s: Annotated[
        float, typer.Option("--status-s", min=0.1, help="Seconds between status lines.")
    ] = 10.0,
    duration_s: Annotated[
        float | None,
        typer.Option(
            "--duration-s",
            min=0,
            help="Stop after this many seconds (default: until Ctrl-C or SIGTERM).",
        ),
    ] = None,
    summary_json: Annotated[
        Path | None,
        typer.Option(
            "--summary-json", help="Also write the final counts and latencies here as JSON."
        ),
    ] = None,
    cat048_edition: Annotated[str, typer.Option("--cat048-edition")] = "1.32",
    cat062_edition: Annotated[str, typer.Option("--cat062-edition")] = "1.21",
) -> None:
    """Listen for ASTERIX CAT048/CAT062 on UDP and post it to an airwarn server as Contract v1
    track and end events.

    Malformed records, other categories and records it cannot place are counted and
    reported, never fatal; a status line every --status-s and a summary at the end. If the
    server is down, batches wait in --buffer and are posted, once each, when it is back.

    Examples:

      airwarn gateway asterix --listen 239.255.62.1:30062 --interface 10.0.0.5 --server
      https://airwarn.example.org --kinds kinds.toml

      airwarn gateway asterix --listen 0.0.0.0:8600 --radar 25/1=31.25,34.79,300 --sigma-m 150

      airwarn gateway asterix --listen 239.255.62.1:30062 --interface 127.0.0.1 --kinds
      raid-ast/kinds.toml --date 2026-03-01 --accept-simulated
      (a lab run; see docs/inputs.md)
    """
    from airwarn.gateway.decode import CAT048_EDITIONS, CAT062_EDITIONS
    from airwarn.gateway.kinds import KindRules, load_rules
    from airwarn.gateway.mapping import MappingSettings
    from airwarn.gateway.polar import RadarSite, SystemPlane, parse_site
    from airwarn.gateway.run import Gateway, GatewaySettings
    from airwarn.gateway.udp import parse_endpoint

    try:
        if not token:
            raise AirwarnError(
                "give a sensor token: --token TOKEN or AIRWARN_TOKEN (make one "
                "with `airwarn tokens create --role sensor --name radar-1`)"
            )
        if not server.startswith(("http://", "https://")):
            raise AirwarnError(
                f"--server is the server's base URL, such as http://127.0.0.1:8000; not {server!r}"
            )
        if cat048_edition not in CAT048_EDITIONS or cat062_edition not in CAT062_EDITIONS:
            raise AirwarnError(
                f"editions: CAT048 one of {', '.join(CAT048_EDITIONS)}; CAT062 "
                f"one of {', '.join(CAT062_EDITIONS)}"
            )
        radars = {}
        for text in radar or []:
            sac, sic, position = parse_site(text, "--radar")
            radars[(sac, sic)] = RadarSite(position)
        planes = {}
        for text in system_centre or []:
            sac, sic, position = parse_site(text, "--system-centre")
            planes[(sac, sic)] = SystemPlane(position)
        try:
            first_day = None if day is None else date.fromisoformat(day)
        except ValueError:
            raise AirwarnError(f"--date is YYYY-MM-DD, not {day!r}") from None
        mapping = MappingSettings(
            rules=load_rules(kinds) if kinds else KindRules(),
            radars=radars,
            planes=planes,
            default_sigma_m=sigma_m,
            day=first_day,
            accept_simulated=accept_simulated,
        )
        settings = GatewaySettings(
            listen=parse_endpoint(listen, "--listen"),
            url=server,
            token=token,
            buffer_dir=buffer,
            mapping=mapping,
            interface=interface,
            buffer_bytes=int(buffer_mb * 1024 * 1024),
            rcvbuf_bytes=rcvbuf_kb * 1024,
            cat048=cat048_edition,
            cat062=cat062_edition,
            batch_events=batch_events,
            batch_s=batch_ms / 1000.0,
            post_events=post_events,
            status_s=status_s,
            duration_s=duration_s,
        )
        gateway = Gateway(settings, _say)
    except (AirwarnError, OSError, ValueError) as error:
        raise _fail(error) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        gateway.run(stop)
    except AirwarnError as error:
        raise _fail(error) from None
    for line in gateway.summary():
        _say(line)
    if summary_json is not None:
        import msgspec

        summary_json.write_bytes(msgspec.json.encode(gateway.figures()) + b"\n")
    if gateway.spool.refused_events:
        raise typer.Exit(1)


@asterix_app.command("encode")
def asterix_encode(
    events: Annotated[
        Path,
        typer.Option(
            "--events", "-e", help="events.jsonl from `airwarn simulate` (track and end events)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for datagrams.jsonl, kinds.toml and threats.json (made if missing).",
        ),
    ],
    category: Annotated[
        str,
        typer.Option(
            help="062: system tracks from a tracker (WGS-84, velocity, climb, accuracy); 048: "
            "target reports of one radar (polar, from --radar; no climb rate)."
        ),
    ] = "062",
    source: Annotated[str, typer.Option(help="SAC/SIC of the tracker (062).")] = "25/10",
    radar: Annotated[
        str | None,
        typer.Option(
            help="For 048: the radar, SAC/SIC=LAT,LON[,ALT_M]; reports beyond its 256 NM are "
            "left out and counted."
        ),
    ] = None,
    period_s: Annotated[
        float, typer.Option("--period-s", min=0.0, help="Seconds of reports per datagram at most.")
    ] = 1.0,
    real: Annotated[
        bool, typer.Option("--real", help="Do not mark the records simulated.")
    ] = False,
) -> None:
    """Write a simulated raid as ASTERIX datagrams (one a line, hex, with its send time).

    Examples:

      airwarn simulate --zones zones.geojson --scenario rockets --out raid/

      airwarn asterix encode --events raid/events.jsonl --out raid-ast/

      airwarn asterix encode --events raid/events.jsonl --out raid-048/ --category 048
      --radar 25/1=31.25,34.79,300
    """
    import msgspec

    from airwarn.gateway.encode import Cat048Encoder, Cat062Encoder, Source
    from airwarn.gateway.polar import RadarSite, parse_site
    from airwarn.gateway.raid import encode_raid

    try:
        encoder: Cat062Encoder | Cat048Encoder
        if category in ("062", "62"):
            sac, _, sic = source.partition("/")
            encoder = Cat062Encoder(Source(int(sac), int(sic), simulated=not real))
        elif category in ("048", "48"):
            if radar is None:
                raise AirwarnError("--category 048 needs --radar SAC/SIC=LAT,LON[,ALT_M]")
            rsac, rsic, position = parse_site(radar, "--radar")
            encoder = Cat048Encoder(Source(rsac, rsic, simulated=not real), RadarSite(position))
        else:
            raise AirwarnError(f"--category is 062 or 048, not {category!r}")
        with events.open("rb") as handle:
            lines = (msgspec.json.decode(line) for line in handle if line.strip())
            result = encode_raid(lines, encoder, out, period_s)
    except (AirwarnError, OSError, ValueError, msgspec.DecodeError) as error:
        raise _fail(error) from None
    clipped = encoder.counts.clipped
    _say(
        f"{result.records} CAT{encoder.category:03d} records of {len(result.threats)} "
        f"threats in {result.datagrams} datagrams, {result.first_t} to {result.last_t}: "
        f"{out / 'datagrams.jsonl'} (kind rules: {out / 'kinds.toml'})"
    )
    if result.skipped:
        _say("left out: " + ", ".join(f"{k} x{v}" for k, v in result.skipped.items()))
    if clipped:
        _say(
            "clipped to the format's limits: " + ", ".join(f"{k} x{v}" for k, v in clipped.items())
        )


@asterix_app.command("play")
def asterix_play(
    datagrams: Annotated[
        Path, typer.Argument(help="datagrams.jsonl, or the folder from `airwarn asterix encode`.")
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="IP:PORT, a multicast group, or IPv6 in brackets ([ff15::62]:PORT)."
        ),
    ] = "239.255.62.1:30062",
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            help="Multicast: the interface to send from (IPv4 address, or the "
            "interface name for IPv6).",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0, help="1: at the recorded pace; 10: ten times faster; 0: as fast as possible."
        ),
    ] = 1.0,
    ttl: Annotated[int, typer.Option(min=0, max=255, help="Multicast hops.")] = 1,
    retime: Annotated[
        bool,
        typer.Option(
            "--retime",
            help="Restamp every record's time of day so that the raid starts now: "
            "for a gateway and server on the wall clock (needs --speed 1).",
        ),
    ] = False,
) -> None:
    """Send datagrams on UDP at their recorded pace, or faster.

    Examples:

      airwarn asterix play raid-ast/ --to 239.255.62.1:30062 --interface 127.0.0.1 --speed 10
      (into a gateway run with --date, posting to a server run with --clock events)

      airwarn asterix play raid-ast/ --to 127.0.0.1:30062 --retime
      (now, in real time: into a gateway and a server on the wall clock)
    """
    from airwarn.gateway.player import play
    from airwarn.gateway.udp import Sender, parse_endpoint

    path = datagrams / "datagrams.jsonl" if datagrams.is_dir() else datagrams
    if retime and speed != 1.0:
        raise _fail(
            AirwarnError(
                "--retime plays the raid now, in real time: use it with "
                "--speed 1 (a faster raid on the wall clock would fly its "
                "threats faster than they can fly)"
            )
        )
    try:
        sender = Sender(parse_endpoint(to, "--to"), interface, ttl)
        try:
            result = play(path, sender, speed, retime=retime)
        finally:
            sender.close()
    except (AirwarnError, OSError) as error:
        raise _fail(error) from None
    _say(
        f"sent {result.datagrams} datagrams ({result.bytes} bytes) to {to}: "
        f"{result.span_s:.1f} s of raid in {result.took_s:.1f} s"
        + (f"; at most {result.late_s:.2f} s behind" if result.late_s > 0.05 else "")
    )
    sys.stdout.flush()
