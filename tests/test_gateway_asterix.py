"""The ASTERIX gateway's parts: decoding, placing, naming, classifying, buffering, listening.

The end-to-end run (a raid over UDP multicast into a real server killed mid-raid) is in
test_gateway_roundtrip.py.
"""

from __future__ import annotations

import math
import socket
import time
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from airwarn.cli import app
from airwarn.contract import parse_event, parse_time
from airwarn.errors import AirwarnError
from airwarn.gateway.decode import Decoder
from airwarn.gateway.encode import Cat048Encoder, Cat062Encoder, Source, time_of_day_s
from airwarn.gateway.kinds import load_rules, rules_from_document
from airwarn.gateway.mapping import DayClock, Mapper, MappingSettings
from airwarn.gateway.polar import RadarSite, SitePosition, parse_site
from airwarn.gateway.raid import encode_raid
from airwarn.gateway.spool import Spool
from airwarn.gateway.udp import Listener, Sender, parse_endpoint

GEOD = pyproj.Geod(ellps="WGS84")
TRACKER = Source(25, 10, simulated=False)
SITE = SitePosition(31.25, 34.79, 300.0)
T_MS = parse_time("2026-03-01T18:00:06.075Z")


def track(**extra: Any) -> dict[str, Any]:
    event = {
        "type": "track",
        "threat": "T1",
        "kind": "rocket",
        "t": "2026-03-01T18:00:06.075Z",
        "lat": 31.38,
        "lon": 34.38,
        "alt_m": 1513.6,
        "sigma_m": 40.0,
    }
    event.update(extra)
    return event


def cat062(*records: tuple[dict[str, Any], int, float]) -> bytes:
    encoder = Cat062Encoder(TRACKER)
    return encoder.datablock([encoder.record(e, tn, tod) for e, tn, tod in records])


def mapped(
    datagram: bytes, settings: MappingSettings | None = None, now_ms: int = T_MS
) -> tuple[list[dict[str, Any]], Mapper, Decoder]:
    decoder, mapper = Decoder(), Mapper(settings or MappingSettings(day=date(2026, 3, 1)))
    events = [e for r in decoder.datagram(datagram) for e in mapper.events(r, now_ms)]
    for event in events:  # every event the gateway makes is valid Contract v1
        parse_event(msgspec.json.encode(event))
    return events, mapper, decoder


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# -- CAT062 -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-89.0, 89.0),
    lon=st.floats(-179.9, 179.9),
    alt=st.floats(-400.0, 62_000.0),
    east=st.floats(-8000.0, 8000.0),
    north=st.floats(-8000.0, 8000.0),
    up=st.floats(-1000.0, 1000.0),
    sigma=st.floats(1.0, 30_000.0),
    t_ms=st.integers(1_700_000_000_000, 1_900_000_000_000),
)
def test_a_cat062_track_comes_back_as_the_report_it_was_within_the_formats_steps(
    lat: float,
    lon: float,
    alt: float,
    east: float,
    north: float,
    up: float,
    sigma: float,
    t_ms: int,
) -> None:
    day = date.fromtimestamp(t_ms // 1000 - (t_ms // 1000) % 86_400)
    event = track(lat=lat, lon=lon, alt_m=alt, vel_mps=[east, north, up], sigma_m=sigma)
    datagram = cat062((event, 4242, time_of_day_s(t_ms)))
    (back,), _, _ = mapped(datagram, MappingSettings(day=day))
    assert back["type"] == "track" and back["threat"] == "062-25-10-4242"
    assert abs(parse_time(back["t"]) - t_ms) <= 4  # 1/128 s steps
    assert metres(lat, lon, back["lat"], back["lon"]) < 0.6  # 180/2^25 degree steps
    assert abs(back["alt_m"] - alt) <= 6.25 * 0.3048 / 2 + 0.05
    assert abs(back["vel_mps"][0] - east) <= 0.125 + 0.005
    assert abs(back["vel_mps"][1] - north) <= 0.125 + 0.005
    assert abs(back["vel_mps"][2] - up) <= 6.25 * 0.3048 / 60 / 2 + 0.005
    assert abs(back["sigma_m"] - sigma) <= 0.25 + 0.05


def test_end_of_track_becomes_an_end_event_lost_and_the_number_a_new_threat_after() -> None:
    datagram = cat062(
        (track(), 7, 100.0),
        ({"type": "end"}, 7, 101.0),
        (track(), 7, 300.0),
        (track(vel_mps=[1.0, 2.0, 3.0]), 7, 301.0),
    )
    events, mapper, _ = mapped(datagram)
    assert [(e["type"], e["threat"]) for e in events] == [
        ("track", "062-25-10-7"),
        ("end", "062-25-10-7"),
        ("track", "062-25-10-7.2"),
        ("track", "062-25-10-7.2"),
    ]
    assert events[1]["reason"] == "lost" and events[1]["t"] == "2026-03-01T00:01:41.000Z"
    assert mapper.counts.ends == 1 and mapper.counts.skipped == 0


def test_a_restarted_gateway_names_a_reused_track_number_as_before(tmp_path: Path) -> None:
    settings = MappingSettings(day=date(2026, 3, 1), generations_file=tmp_path / "generations.json")
    first, _, _ = mapped(cat062((track(), 9, 10.0), ({"type": "end"}, 9, 11.0)), settings)
    later, _, _ = mapped(cat062((track(), 9, 20.0)), settings)
    assert first[0]["threat"] == "062-25-10-9" and later[0]["threat"] == "062-25-10-9.2"


def test_times_of_day_run_on_past_midnight_and_follow_the_wall_clock_live() -> None:
    lab = DayClock(date(2026, 3, 1))
    assert lab.resolve(86_399.5, 0) == parse_time("2026-03-01T23:59:59.500Z")
    assert lab.resolve(0.25, 0) == parse_time("2026-03-02T00:00:00.250Z")
    assert lab.resolve(86_399.0, 0) == parse_time("2026-03-01T23:59:59.000Z")  # a late one
    live = DayClock(None)
    now = parse_time("2026-03-05T00:00:02.000Z")
    assert live.resolve(86_399.0, now) == parse_time("2026-03-04T23:59:59.000Z")
    assert live.resolve(1.0, now) == parse_time("2026-03-05T00:00:01.000Z")


def test_a_ballistic_missile_above_the_formats_ceiling_is_forwarded_and_counted() -> None:
    datagram = cat062(
        (track(alt_m=150_000.0, vel_mps=[0.0, 2000.0, 1500.0]), 1, 5.0),
        (track(alt_m=40_000.0), 2, 5.0),
    )
    events, mapper, _ = mapped(datagram)
    assert [round(e["alt_m"]) for e in events] == [62421, 39999]  # steps of 1.905 m
    assert mapper.counts.at_ceiling == 1


def test_simulated_tracks_are_dropped_unless_the_gateway_is_told_to_take_them() -> None:
    encoder = Cat062Encoder(Source(25, 10, simulated=True))
    datagram = encoder.datablock([encoder.record(track(), 1, 5.0)])
    events, mapper, _ = mapped(datagram)
    assert events == [] and mapper.counts.simulated == 1
    events, _, _ = mapped(datagram, MappingSettings(day=date(2026, 3, 1), accept_simulated=True))
    assert len(events) == 1


def test_a_velocity_without_climb_rate_is_left_out_and_accuracy_falls_back_to_the_default() -> None:
    encoder = Cat062Encoder(TRACKER)
    record = encoder.record(track(vel_mps=[10.0, 20.0, 0.0]), 3, 5.0)
    record = record.del_item("220").del_item("500")
    (event,), _, _ = mapped(
        encoder.datablock([record]), MappingSettings(day=date(2026, 3, 1), default_sigma_m=150.0)
    )
    assert "vel_mps" not in event and event["sigma_m"] == 150.0


# -- CAT048 -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(bearing=st.floats(0.0, 359.99), km=st.floats(1.0, 400.0), alt=st.floats(0.0, 60_000.0))
def test_a_cat048_plot_lands_where_the_target_was_given_the_radars_site(
    bearing: float, km: float, alt: float
) -> None:
    lon, lat, _ = GEOD.fwd(SITE.lon, SITE.lat, bearing, km * 1000.0)
    encoder = Cat048Encoder(TRACKER, RadarSite(SITE))
    datagram = encoder.datablock([encoder.record(track(lat=lat, lon=lon, alt_m=alt), 77, 5.0)])
    settings = MappingSettings(day=date(2026, 3, 1), radars={(25, 10): RadarSite(SITE)})
    (event,), _, _ = mapped(datagram, settings)
    # range steps of 1/256 NM, azimuth steps of 360/2^16 degrees, height steps of 25 ft; near
    # the radar a steep line of sight turns range and height errors into ground errors
    east, north, up = RadarSite(SITE).to_enu(lat, lon, alt)
    ground, rho = math.hypot(east, north), math.dist((0, 0, 0), (east, north, up))
    allowed = (
        rho / ground * 1852 / 512
        + abs(up) / ground * 25 * 0.3048 / 2
        + ground * math.radians(360 / 2**17)
        + 0.2
    )
    assert metres(lat, lon, event["lat"], event["lon"]) < allowed
    assert event["threat"] == "048-25-10-77" and "vel_mps" not in event


def test_a_trackers_plane_positions_and_velocities_come_out_in_wgs84_and_east_north() -> None:
    from airwarn.gateway.polar import SystemPlane

    centre = SitePosition(31.0, 35.0)
    plane = SystemPlane(centre)
    proj = pyproj.Proj(proj="stere", lat_0=31.0, lon_0=35.0, k_0=1.0, ellps="WGS84")
    for lat, lon in [(32.5, 33.0), (29.0, 38.0)]:
        x, y = proj(lon, lat)
        back = plane.to_geodetic(x, y)
        assert metres(lat, lon, *back) < 0.01
        for bearing in (0.0, 45.0, 90.0, 200.0):  # 100 m/s along a true bearing
            lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, 10.0)
            x2, y2 = proj(lon2, lat2)
            d = math.hypot(x2 - x, y2 - y)
            east, north = plane.to_east_north(lat, lon, 100 * (x2 - x) / d, 100 * (y2 - y) / d)
            assert abs(east - 100 * math.sin(math.radians(bearing))) < 0.01
            assert abs(north - 100 * math.cos(math.radians(bearing))) < 0.01


def test_cat048_from_a_radar_with_no_site_given_is_counted_not_guessed() -> None:
    encoder = Cat048Encoder(Source(7, 1, simulated=False), RadarSite(SITE))
    datagram = encoder.datablock([encoder.record(track(), 5, 5.0)])
    events, mapper, _ = mapped(datagram)
    assert events == [] and mapper.counts.unknown_radar == {"7/1": 1}


def test_a_radar_site_is_written_sac_sic_equals_lat_lon_alt() -> None:
    assert parse_site("25/1=31.25,34.79,300", "--radar") == (25, 1, SITE)
    with pytest.raises(AirwarnError, match="SAC/SIC=LAT,LON"):
        parse_site("25-1=31.25", "--radar")


# -- bad input ----------------------------------------------------------------------------


def test_malformed_datagrams_and_other_categories_are_counted_and_the_good_records_kept() -> None:
    good = cat062((track(), 1, 5.0))
    cat034 = bytes([34, 0, 6, 0x80, 0, 0])  # a category we do not take
    truncated_062 = bytes([62, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    decoder = Decoder()
    assert len(decoder.datagram(good + cat034 + truncated_062 + good)) == 2
    assert decoder.datagram(b"\x3e\x00\xff garbage") == []
    assert decoder.datagram(b"") == []
    counts = decoder.counts
    assert counts.unknown_blocks == {34: 1}
    assert counts.malformed_blocks == 1 and counts.malformed_datagrams == 1
    assert counts.records == {62: 2} and counts.first_error is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_no_datagram_makes_the_decoder_raise(data: bytes) -> None:
    decoder, mapper = Decoder(), Mapper(MappingSettings(accept_simulated=True))
    for record in decoder.datagram(data):
        for event in mapper.events(record, T_MS):
            parse_event(msgspec.json.encode(event))


# -- kinds --------------------------------------------------------------------------------

RULES = """
default = "unknown"

[[rule]]
kind = "rocket"
track_numbers = [1000, 1999]

[[rule]]
kind = "rocket"
speed_mps = [250, 3000]
climb_mps = [100, 3000]

[[rule]]
kind = "drone"
speed_mps = [20, 70]
alt_m = [0, 4000]
identity = ["unknown", "no_reply"]

[[rule]]
kind = "aircraft"
callsign = ["ELY*", "LY*"]
"""


def kind_of(rules_text: str, event: dict[str, Any], tn: int = 1, **record: Any) -> str:
    rules = load_rules_text(rules_text)
    encoder = Cat062Encoder(TRACKER)
    rec = encoder.record(event, tn, 5.0)
    for item, value in record.items():
        rec = rec.set_item(item, value)
    (out,), _, _ = mapped(
        encoder.datablock([rec]), MappingSettings(day=date(2026, 3, 1), rules=rules)
    )
    return str(out["kind"])


def load_rules_text(text: str):  # type: ignore[no-untyped-def]
    import tomllib

    return rules_from_document(tomllib.loads(text))


def test_the_first_matching_rule_gives_the_kind_and_unknown_is_the_default() -> None:
    assert kind_of(RULES, track(), tn=1500) == "rocket"
    assert kind_of(RULES, track(vel_mps=[300.0, 0.0, 200.0]), tn=7) == "rocket"
    assert (
        kind_of(
            RULES, track(vel_mps=[40.0, 0.0, 0.0], alt_m=300.0), tn=7, **{"080": (0, 0, 0b0100000)}
        )
        == "drone"
    )  # Mode 4: unknown
    assert (
        kind_of(
            RULES, track(vel_mps=[40.0, 0.0, 0.0], alt_m=300.0), tn=7, **{"080": (0, 0, 0b0010000)}
        )
        == "unknown"
    )  # Mode 4: friendly
    assert kind_of(RULES, track(), tn=7, **{"245": (0, 0, "ELY001")}) == "aircraft"
    # a condition on something the record does not carry does not hold
    assert kind_of(RULES, track(), tn=7) == "unknown"


def test_a_track_keeps_the_kind_of_its_first_record() -> None:
    rules = load_rules_text(RULES)
    encoder = Cat062Encoder(TRACKER)
    datagram = encoder.datablock(
        [
            encoder.record(track(vel_mps=[300.0, 0.0, 200.0]), 7, 5.0),
            encoder.record(track(vel_mps=[40.0, 0.0, 0.0]), 7, 6.0),
        ]
    )
    events, _, _ = mapped(datagram, MappingSettings(day=date(2026, 3, 1), rules=rules))
    assert [e["kind"] for e in events] == ["rocket", "rocket"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\nkind = "rockt"', "rule 1: `kind` must be one of"),
        ('[[rule]]\nkind = "drone"\nspeeed = [1, 2]', "rule 1: unknown condition 'speeed'"),
        ('[[rule]]\nkind = "drone"\nspeed_mps = [70, 20]', "rule 1, speed_mps: write a range"),
        ('[[rule]]\nkind = "drone"\nidentity = "foe"', "`identity` takes"),
        ('default = "bird"', "default must be one of"),
        ('[[rule]]\nkind = "drone"\n[[rule]]\nkind = "x"', "rule 2"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_rule_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "kinds.toml"
    path.write_text(text)
    with pytest.raises(AirwarnError, match=message.replace("[", r"\[")) as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


# -- the buffer ---------------------------------------------------------------------------


def test_the_buffer_keeps_batches_in_order_across_a_restart_with_the_same_keys(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    first = spool.put([b'{"a":1}', b'{"a":2}'])
    second = spool.put([b'{"a":3}'])
    assert first is not None and second is not None and first.key != second.key
    again = Spool(tmp_path, max_bytes=10_000)
    assert again.recovered == 2 and again.events == 3
    oldest = again.oldest(0)
    assert oldest is not None and oldest.key == first.key and oldest.body() == b'{"a":1}\n{"a":2}\n'
    again.done(oldest)
    third = again.put([b'{"a":4}'])
    assert third is not None and third.seq > second.seq and third.key != second.key
    assert [p.name for p in sorted(tmp_path.glob("*.jsonl"))] == [second.path.name, third.path.name]


def test_batches_waiting_for_the_server_go_together_and_again_so_after_a_restart(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    batches = [spool.put([b'{"a":%d}' % n, b'{"b":%d}' % n]) for n in range(4)]
    assert all(b is not None for b in batches)
    post = spool.next_post(0, max_events=6)  # three batches of two events
    assert post is not None and [b.seq for b in post.batches] == [b.seq for b in batches[:3]]
    assert post.events == 6 and post.body() == b"".join(b.body() for b in batches[:3])
    assert post.key not in {b.key for b in batches}  # it names the first and the last
    spool.put([b'{"c":1}'])  # arrives while that post is in flight; then the gateway dies
    again = Spool(tmp_path, max_bytes=10_000)
    same = again.next_post(0, max_events=100)  # the same three, under the same key
    assert same is not None and same.key == post.key and same.body() == post.body()
    again.done(same)
    rest = again.next_post(0, max_events=100)
    assert rest is not None and len(rest.batches) == 2 and rest.events == 3
    assert again.next_post(0, max_events=1) is not None  # one batch at least, always


def test_a_post_answered_just_before_the_gateway_died_is_not_posted_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    for n in range(3):
        spool.put([b'{"a":%d}' % n])
    post = spool.next_post(0, max_events=10)
    assert post is not None and len(post.batches) == 3
    post.batches[0].path.unlink()  # answered: its files were being deleted when it died
    again = Spool(tmp_path, max_bytes=10_000)
    assert len(again) == 0 and not list(tmp_path.iterdir())


def test_batches_the_server_refuses_together_are_posted_one_by_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    for n in range(3):
        spool.put([b'{"a":%d}' % n])
    post = spool.next_post(0, max_events=10)
    assert post is not None and len(post.batches) == 3
    spool.single(post)
    for _ in range(3):
        alone = spool.next_post(0, max_events=10)
        assert alone is not None and len(alone.batches) == 1
        spool.set_aside(alone, "422: test")
    assert len(spool) == 0 and len(list((tmp_path / "refused").glob("*.jsonl"))) == 3


def test_a_full_buffer_refuses_new_batches_and_counts_their_events(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=30)
    assert spool.put([b"x" * 20]) is not None
    assert spool.put([b"y" * 20, b"z"]) is None
    assert spool.refused_batches == 1 and spool.refused_events == 2 and len(spool) == 1


def test_a_buffer_that_cannot_be_written_drops_and_says_why(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "buffer", max_bytes=10_000)
    (tmp_path / "buffer").rmdir()  # the disk is gone from under it
    assert spool.put([b'{"a":1}']) is None
    assert spool.refused_events == 1 and "No such file" in (spool.write_error or "")


# -- UDP ----------------------------------------------------------------------------------


def free_udp_port(family: socket.AddressFamily = socket.AF_INET) -> int:
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("where", ["127.0.0.1", "::1", "239.255.62.7"])
def test_the_listener_takes_unicast_ipv4_ipv6_and_multicast(where: str) -> None:
    family = socket.AF_INET6 if ":" in where else socket.AF_INET
    text = (
        f"[{where}]:{free_udp_port(family)}"
        if family == socket.AF_INET6
        else f"{where}:{free_udp_port(family)}"
    )
    endpoint = parse_endpoint(text)
    interface = "127.0.0.1" if endpoint.ip.is_multicast else None
    listener = Listener(endpoint, interface, timeout_s=2.0)
    sender = Sender(endpoint, interface)
    try:
        sender.send(b"\x3e\x00\x03")
        assert listener.receive() == b"\x3e\x00\x03"
    finally:
        sender.close()
        listener.close()


def test_the_listener_joins_an_ipv6_multicast_group_on_the_named_interface() -> None:
    # this machine has no IPv6 multicast route to send on loopback, so the kernel's own list
    # of the groups each interface has joined is the evidence
    endpoint = parse_endpoint(f"[ff15::62]:{free_udp_port(socket.AF_INET6)}")
    listener = Listener(endpoint, "lo")
    try:
        joined = Path("/proc/net/igmp6").read_text().split("\n")
        assert any(
            " lo " in f" {line} " and "ff150000000000000000000000000062" in line for line in joined
        )
    finally:
        listener.close()
    with pytest.raises(AirwarnError, match="no network interface named 'nope0'"):
        Listener(endpoint, "nope0")


def test_a_flood_beyond_the_receive_buffer_is_dropped_by_the_kernel_and_counted() -> None:
    endpoint = parse_endpoint(f"127.0.0.1:{free_udp_port()}")
    listener = Listener(endpoint, rcvbuf_bytes=4096, timeout_s=0.5)
    sender = Sender(endpoint)
    try:
        for _ in range(2000):
            sender.send(b"\x3e\x00\x03" + bytes(1000))
        dropped = listener.refresh_drops()  # from /proc/net/udp, at any time
        received = 0
        while listener.receive() is not None:
            received += 1
        assert received < 2000
        # the kernel tells its count with each datagram it queues after a drop
        sender.send(b"\x3e\x00\x03")
        assert listener.receive() == b"\x3e\x00\x03"
        # (a datagram may also be lost before any socket sees it, in the kernel's input
        # backlog, so the socket's count is at most what did not arrive)
        assert listener.drops_visible and listener.kernel_drops == dropped > 0
        assert received + dropped <= 2000
    finally:
        sender.close()
        listener.close()


def test_the_listener_says_what_is_wrong_with_an_address() -> None:
    with pytest.raises(AirwarnError, match="IP:PORT"):
        parse_endpoint("localhost")
    with pytest.raises(AirwarnError, match="cannot listen"):
        Listener(parse_endpoint("192.0.2.1:9"))  # not an address of this machine


# -- making ASTERIX from a raid, and the CLI ----------------------------------------------


def raid_events() -> list[dict[str, Any]]:
    return [
        track(threat="R1", t="2026-03-01T18:00:00.000Z"),
        track(threat="D1", kind="drone", t="2026-03-01T18:00:00.500Z"),
        track(threat="R1", t="2026-03-01T18:00:01.000Z", lat=31.381),
        {"type": "end", "threat": "R1", "t": "2026-03-01T18:00:02.000Z", "reason": "impact"},
        {"type": "tick", "t": "2026-03-01T18:00:03.000Z"},
        track(threat="D1", kind="drone", t="2026-03-01T18:00:09.000Z"),
    ]


def test_a_raid_encoded_and_decoded_gives_its_events_back_with_kinds_from_the_rules(
    tmp_path: Path,
) -> None:
    result = encode_raid(raid_events(), Cat062Encoder(Source(25, 10)), tmp_path, period_s=1.0)
    assert result.records == 5 and result.skipped == {"tick events": 1}
    assert result.threats == {"R1": "062-25-10-1000", "D1": "062-25-10-4000"}
    lines = (tmp_path / "datagrams.jsonl").read_text().splitlines()
    sent = [msgspec.json.decode(line)["t"] for line in lines]
    assert sent == [
        "2026-03-01T18:00:00.500Z",
        "2026-03-01T18:00:01.000Z",
        "2026-03-01T18:00:02.000Z",
        "2026-03-01T18:00:09.000Z",
    ]
    settings = MappingSettings(
        day=date(2026, 3, 1), accept_simulated=True, rules=load_rules(tmp_path / "kinds.toml")
    )
    decoder, mapper = Decoder(), Mapper(settings)
    events = [
        e
        for line in lines
        for r in decoder.datagram(bytes.fromhex(msgspec.json.decode(line)["hex"]))
        for e in mapper.events(r, T_MS)
    ]
    assert [(e["type"], e["threat"], e.get("kind"), e["t"]) for e in events] == [
        ("track", "062-25-10-1000", "rocket", "2026-03-01T18:00:00.000Z"),
        ("track", "062-25-10-4000", "drone", "2026-03-01T18:00:00.500Z"),
        ("track", "062-25-10-1000", "rocket", "2026-03-01T18:00:01.000Z"),
        ("end", "062-25-10-1000", None, "2026-03-01T18:00:02.000Z"),
        ("track", "062-25-10-4000", "drone", "2026-03-01T18:00:09.000Z"),
    ]


def test_cli_encode_then_play_reaches_a_listener(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(msgspec.json.encode(e) + b"\n" for e in raid_events()))
    runner = CliRunner()
    done = runner.invoke(
        app, ["asterix", "encode", "--events", str(events), "--out", str(tmp_path / "ast")]
    )
    assert done.exit_code == 0, done.output
    assert "5 CAT062 records of 2 threats in 4 datagrams" in done.output
    endpoint = parse_endpoint(f"127.0.0.1:{free_udp_port()}")
    listener = Listener(endpoint, timeout_s=2.0)
    try:
        started = time.monotonic()
        done = runner.invoke(
            app, ["asterix", "play", str(tmp_path / "ast"), "--to", str(endpoint), "--speed", "9"]
        )
        assert done.exit_code == 0, done.output
        assert 0.9 < time.monotonic() - started < 5  # 9 s of raid at 9 times
        assert all(listener.receive() for _ in range(4))
    finally:
        listener.close()


def test_a_retimed_datagram_says_the_same_but_later() -> None:
    from airwarn.gateway.player import retimed

    original = cat062((track(), 1, 86_390.0), ({"type": "end"}, 1, 86_395.0))
    later = retimed(original, 3600.5 + 20.0)  # and past midnight
    settings = MappingSettings(day=date(2026, 3, 1))
    before, _, _ = mapped(original, settings)
    after, _, _ = mapped(later, MappingSettings(day=date(2026, 3, 2)))
    assert [parse_time(b["t"]) + 3_620_500 for b in before] == [parse_time(a["t"]) for a in after]
    assert [dict(b, t=None) for b in before] == [dict(a, t=None) for a in after]


def test_cli_gateway_help_has_examples_and_bad_options_say_how_to_fix_them(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["gateway", "asterix", "--help"], terminal_width=200)
    assert shown.exit_code == 0 and "Examples" in shown.output and "--kinds" in shown.output
    refused = runner.invoke(
        app,
        ["gateway", "asterix", "--listen", "127.0.0.1:9", "--token", "t", "--radar", "25/1=north"],
    )
    assert refused.exit_code == 2 and "SAC/SIC=LAT,LON" in refused.output
    no_token = runner.invoke(
        app, ["gateway", "asterix", "--listen", "127.0.0.1:9"], env={"AIRWARN_TOKEN": ""}
    )
    assert no_token.exit_code == 2 and "tokens create --role sensor" in no_token.output


def test_a_stopped_gateway_decodes_what_its_socket_holds_and_keeps_it_for_the_next_run(
    tmp_path: Path,
) -> None:
    import threading

    from airwarn.gateway.run import Gateway, GatewaySettings

    endpoint = parse_endpoint(f"127.0.0.1:{free_udp_port()}")
    settings = GatewaySettings(
        listen=endpoint,
        url=f"http://127.0.0.1:{free_udp_port()}",
        token="t",
        buffer_dir=tmp_path / "buffer",
        drain_s=0.5,
        mapping=MappingSettings(day=date(2026, 3, 1)),
    )
    said: list[str] = []
    gateway = Gateway(settings, said.append)
    stop = threading.Event()
    runner = threading.Thread(target=gateway.run, args=(stop,))
    runner.start()
    deadline = time.monotonic() + 30
    while gateway.listener is None and time.monotonic() < deadline:
        time.sleep(0.01)
    sender = Sender(endpoint)
    for n in range(50):
        sender.send(cat062((track(), n, 5.0 + n)))
    sender.close()
    stop.set()  # at once: most datagrams are still in the socket
    runner.join(timeout=60)
    assert gateway.decoder.counts.datagrams + gateway.unread_at_stop == 50
    assert gateway.decoder.counts.datagrams == 50  # read well within drain_s
    # no server: every event waits in the buffer, for the next run to post
    assert Spool(tmp_path / "buffer", max_bytes=10**6).events == 50
    assert any("server not taking batches" in line for line in said)
