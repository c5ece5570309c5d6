"""ASTERIX datagrams to radar records: CAT048 (monoradar target reports) and CAT062 (system
tracks), parsed with libasterix (the specifications generated from EUROCONTROL's documents by
the asterix-specs project; it also encodes, see `encode.py`).

A record becomes a `RadarRecord` that holds only what airwarn uses, in SI units. Nothing here
raises on bad input: a datagram that does not parse, a category we do not take and a record
with no usable content are each counted in `DecodeCounts`, and the rest of the datagram (what
still parses) is kept.

Each datablock goes first by the fast path (`layout.py`: the items airwarn reads, located and
read in the bytes where libasterix's specification puts them, some twenty times cheaper than
building libasterix's objects); a datablock the fast path cannot vouch for, damaged or unusual,
is parsed by libasterix itself, so that what is kept and what is counted as malformed is
libasterix's verdict either way.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from asterix import generated as gen
from asterix.base import Bits, RawDatablock

from airwarn.gateway.layout import LayoutError, RecordLayout, Unsupported

# The editions we parse with. Newer editions only add items (or extension octets) to the
# items used here, so a record written to an older edition parses the same; the CLI can name
# another edition if a source needs it.
CAT048_EDITIONS: dict[str, Any] = {
    "1.27": gen.Cat_048_1_27,
    "1.28": gen.Cat_048_1_28,
    "1.29": gen.Cat_048_1_29,
    "1.30": gen.Cat_048_1_30,
    "1.31": gen.Cat_048_1_31,
    "1.32": gen.Cat_048_1_32,
}
CAT062_EDITIONS: dict[str, Any] = {
    "1.16": gen.Cat_062_1_16,
    "1.17": gen.Cat_062_1_17,
    "1.18": gen.Cat_062_1_18,
    "1.19": gen.Cat_062_1_19,
    "1.20": gen.Cat_062_1_20,
    "1.21": gen.Cat_062_1_21,
}
DEFAULT_CAT048, DEFAULT_CAT062 = "1.32", "1.21"

FT = 0.3048
FL = 100 * FT  # a flight level is 100 ft of pressure altitude
NM = 1852.0
IDENTITY = {1: "friendly", 2: "unknown", 3: "no_reply"}  # Mode 4 / Mode 5 answers
VERTICAL = {0: "level", 1: "climb", 2: "descent", 3: "undetermined"}
TRANSVERSAL = {0: "constant_course", 1: "right_turn", 2: "left_turn", 3: "undetermined"}
LONGITUDINAL = {
    0: "constant_speed",
    1: "increasing_speed",
    2: "decreasing_speed",
    3: "undetermined",
}


@dataclass(slots=True)
class RadarRecord:
    """One target report or system track, in SI units; None where the record is silent.

    CAT062 gives `lat`/`lon` (WGS-84) or `x_m`/`y_m` (the tracker's system plane); CAT048
    gives `rho_m` (slant range) and `theta_deg` (azimuth from true north) from its radar.
    Heights: `alt_m` is geometric (above the WGS-84 ellipsoid: I062/130, or a 3D radar's
    I048/110), `fl_m` barometric (a flight level in metres of pressure altitude).
    """

    category: int
    sac: int
    sic: int
    track_number: int | None = None
    tod_s: float | None = None  # seconds since midnight UTC (ASTERIX has no date)
    lat: float | None = None
    lon: float | None = None
    x_m: float | None = None
    y_m: float | None = None
    rho_m: float | None = None
    theta_deg: float | None = None
    alt_m: float | None = None
    fl_m: float | None = None
    vx_mps: float | None = None  # CAT062: the system plane's x (east at its centre)
    vy_mps: float | None = None
    speed_mps: float | None = None  # CAT048: ground speed and heading
    heading_deg: float | None = None
    climb_mps: float | None = None
    sigma_x_m: float | None = None
    sigma_y_m: float | None = None
    end: bool = False  # the last report of this track (I062/080 TSE, I048/170 TRE)
    tentative: bool = False
    simulated: bool = False
    vertical: str | None = None  # mode of movement (I062/200) or climbing mode (I048/170 CDM)
    transversal: str | None = None
    longitudinal: str | None = None
    callsign: str | None = None
    mode3a: str | None = None
    identity: str | None = None  # friendly | unknown | no_reply, from Mode 4 (or Mode 5)


@dataclass
class DecodeCounts:
    """What the decoder met; every record that was not turned into a RadarRecord is here."""

    datagrams: int = 0
    bytes: int = 0
    records: dict[int, int] = field(default_factory=dict)  # per category
    malformed_datagrams: int = 0  # not a sequence of datablocks
    malformed_blocks: int = 0  # a datablock of a category we take whose records do not parse
    malformed_records: int = 0  # records that parse but cannot be read
    unknown_blocks: dict[int, int] = field(default_factory=dict)  # categories we do not take
    first_error: str | None = None

    def error(self, text: str) -> None:
        if self.first_error is None:
            self.first_error = text


class Decoder:
    """Turns datagrams into RadarRecords, with the editions chosen once. `fast=False` parses
    every datablock with libasterix (the reference the fast path is tested against)."""

    def __init__(
        self, cat048: str = DEFAULT_CAT048, cat062: str = DEFAULT_CAT062, fast: bool = True
    ) -> None:
        self.specs = {48: CAT048_EDITIONS[cat048], 62: CAT062_EDITIONS[cat062]}
        self.counts = DecodeCounts()
        self.readers: dict[int, _Cat062Reader | _Cat048Reader] = {}
        self.fast_blocks = 0  # datablocks read by the fast path (the rest by libasterix)
        if fast:
            for category, reader in ((62, _Cat062Reader), (48, _Cat048Reader)):
                # an edition laid out otherwise than the fast path reads: libasterix reads it
                with suppress(LayoutError):
                    self.readers[category] = reader(self.specs[category])

    def datagram(self, data: bytes) -> list[RadarRecord]:
        """Every record of a datagram that parses; the rest is counted."""
        counts = self.counts
        counts.datagrams += 1
        counts.bytes += len(data)
        blocks = RawDatablock.parse(Bits.from_bytes(data))
        if isinstance(blocks, ValueError):
            counts.malformed_datagrams += 1
            counts.error(f"datagram of {len(data)} bytes: {blocks} (starts {data[:8].hex()})")
            return []
        out: list[RadarRecord] = []
        for block in blocks:
            category = block.get_category()
            spec = self.specs.get(category)
            if spec is None:
                counts.unknown_blocks[category] = counts.unknown_blocks.get(category, 0) + 1
                continue
            raw = block.get_raw_records()
            reader = self.readers.get(category)
            if reader is not None:
                try:
                    fast = reader.block(raw.bs, raw.bit_offset1 // 8, raw.bit_offset2 // 8)
                except Unsupported:
                    pass
                else:
                    self.fast_blocks += 1
                    out.extend(fast)
                    counts.records[category] = counts.records.get(category, 0) + len(fast)
                    continue
            records = spec.cv_uap.parse(raw)
            if isinstance(records, ValueError):
                counts.malformed_blocks += 1
                counts.error(
                    f"CAT{category:03d} datablock of {block.get_length()} bytes: {records}"
                )
                continue
            convert = _cat062 if category == 62 else _cat048
            for record in records:
                try:
                    out.append(convert(record))
                except (KeyError, ValueError, AttributeError, IndexError) as error:
                    # a record that parses but whose content we cannot read (an edition
                    # that names a subitem otherwise): counted, never fatal
                    counts.malformed_records += 1
                    counts.error(f"CAT{category:03d} record: {type(error).__name__}: {error}")
            counts.records[category] = counts.records.get(category, 0) + len(records)
        return out


def _sub(item: Any, name: str) -> Any:
    """A subitem's content (an extended item's subitem may be absent: None)."""
    sub = item.variation.get_item(name)
    return None if sub is None else sub.variation.content


def _source(record: Any) -> tuple[int, int]:
    i010 = record.get_item("010")
    if i010 is None:
        return -1, -1
    return (
        i010.variation.get_item("SAC").variation.content.as_uint(),
        i010.variation.get_item("SIC").variation.content.as_uint(),
    )


def _cat062(record: Any) -> RadarRecord:
    sac, sic = _source(record)
    out = RadarRecord(62, sac, sic)
    get = record.get_item
    if (i040 := get("040")) is not None:
        out.track_number = i040.variation.content.as_uint()
    if (i070 := get("070")) is not None:
        out.tod_s = i070.variation.content.as_quantity("s")
    if (i105 := get("105")) is not None:
        out.lat = _sub(i105, "LAT").as_quantity("°")
        out.lon = _sub(i105, "LON").as_quantity("°")
    elif (i100 := get("100")) is not None:
        out.x_m = _sub(i100, "X").as_quantity("m")
        out.y_m = _sub(i100, "Y").as_quantity("m")
    if (i130 := get("130")) is not None:
        out.alt_m = i130.variation.content.as_quantity("ft") * FT
    if (i135 := get("135")) is not None:
        out.fl_m = _sub(i135, "CTB").as_quantity("FL") * FL
    elif (i136 := get("136")) is not None:
        out.fl_m = i136.variation.content.as_quantity("FL") * FL
    if (i185 := get("185")) is not None:
        out.vx_mps = _sub(i185, "VX").as_quantity("m/s")
        out.vy_mps = _sub(i185, "VY").as_quantity("m/s")
    if (i220 := get("220")) is not None:
        out.climb_mps = i220.variation.content.as_quantity("ft/min") * FT / 60.0
    if (i500 := get("500")) is not None and (apc := i500.variation.get_item("APC")) is not None:
        out.sigma_x_m = _sub(apc, "X").as_quantity("m")
        out.sigma_y_m = _sub(apc, "Y").as_quantity("m")
    if (i080 := get("080")) is not None:
        status = i080.variation
        cnf = status.get_item("CNF")
        out.tentative = cnf is not None and cnf.variation.content.as_uint() == 1
        if (tse := status.get_item("TSE")) is not None:
            out.end = tse.variation.content.as_uint() == 1
            out.simulated = status.get_item("SIM").variation.content.as_uint() == 1
        if (md4 := status.get_item("MD4")) is not None:
            out.identity = IDENTITY.get(md4.variation.content.as_uint())
            if out.identity is None:
                out.identity = IDENTITY.get(status.get_item("MD5").variation.content.as_uint())
    if (i200 := get("200")) is not None:
        out.transversal = TRANSVERSAL[_sub(i200, "TRANS").as_uint()]
        out.longitudinal = LONGITUDINAL[_sub(i200, "LONG").as_uint()]
        out.vertical = VERTICAL[_sub(i200, "VERT").as_uint()]
    if (i245 := get("245")) is not None:
        out.callsign = _sub(i245, "CHR").as_string().strip() or None
    if (i060 := get("060")) is not None:
        out.mode3a = _sub(i060, "MODE3A").as_string()
    return out


def _cat048(record: Any) -> RadarRecord:
    sac, sic = _source(record)
    out = RadarRecord(48, sac, sic)
    get = record.get_item
    if (i161 := get("161")) is not None:
        out.track_number = _sub(i161, "TRN").as_uint()
    if (i140 := get("140")) is not None:
        out.tod_s = i140.variation.content.as_quantity("s")
    if (i040 := get("040")) is not None:
        out.rho_m = _sub(i040, "RHO").as_quantity("NM") * NM
        out.theta_deg = _sub(i040, "THETA").as_quantity("°")
    if (i110 := get("110")) is not None:
        out.alt_m = _sub(i110, "3DH").as_quantity("ft") * FT
    if (i090 := get("090")) is not None:
        out.fl_m = _sub(i090, "FL").as_quantity("FL") * FL
    if (i200 := get("200")) is not None:
        out.speed_mps = _sub(i200, "GSP").as_quantity("NM/s") * NM
        out.heading_deg = _sub(i200, "HDG").as_quantity("°")
    if (i210 := get("210")) is not None:
        out.sigma_x_m = _sub(i210, "SIGX").as_quantity("NM") * NM
        out.sigma_y_m = _sub(i210, "SIGY").as_quantity("NM") * NM
    if (i170 := get("170")) is not None:
        status = i170.variation
        out.tentative = status.get_item("CNF").variation.content.as_uint() == 1
        cdm = status.get_item("CDM").variation.content.as_uint()
        out.vertical = VERTICAL[cdm]
        if (tre := status.get_item("TRE")) is not None:
            out.end = tre.variation.content.as_uint() == 1
    if (i020 := get("020")) is not None:
        descriptor = i020.variation
        out.simulated = descriptor.get_item("SIM").variation.content.as_uint() == 1
        if (foe := descriptor.get_item("FOEFRI")) is not None:
            out.identity = IDENTITY.get(foe.variation.content.as_uint())
    if (i240 := get("240")) is not None:
        out.callsign = i240.variation.content.as_string().strip() or None
    if (i070 := get("070")) is not None:
        out.mode3a = _sub(i070, "MODE3A").as_string()
    return out


# -- the fast path: the same conversions, read from the bytes (see layout.py) ---------------


class _Reader:
    """A datablock's records, each split at the places its layout gives and made a
    RadarRecord by the category's `record`."""

    layout: RecordLayout

    def record(self, data: bytes, found: dict[str, tuple[int, int]]) -> RadarRecord:
        raise NotImplementedError

    def block(self, data: bytes, at: int, end: int) -> list[RadarRecord]:
        out = []
        split, record = self.layout.split, self.record
        while at < end:
            found, at = split(data, at, end)
            out.append(record(data, found))
        return out


class _Cat062Reader(_Reader):
    """CAT062 datablocks to RadarRecords as `_cat062` makes them, from the bytes."""

    def __init__(self, spec: Any) -> None:
        layout = self.layout = RecordLayout(
            spec,
            frozenset(
                {
                    "010",
                    "040",
                    "070",
                    "105",
                    "100",
                    "130",
                    "135",
                    "136",
                    "185",
                    "220",
                    "500",
                    "080",
                    "200",
                    "245",
                    "060",
                }
            ),
        )
        f = layout.field
        self.sac, self.sic = f(("010", "SAC")), f(("010", "SIC"))
        self.track_number, self.tod = f(("040",)), f(("070",), "s")
        self.lat, self.lon = f(("105", "LAT"), "°"), f(("105", "LON"), "°")
        self.x, self.y = f(("100", "X"), "m"), f(("100", "Y"), "m")
        self.alt, self.ctb, self.fl = f(("130",), "ft"), f(("135", "CTB"), "FL"), f(("136",), "FL")
        self.vx, self.vy = f(("185", "VX"), "m/s"), f(("185", "VY"), "m/s")
        self.climb = f(("220",), "ft/min")
        self.i500 = layout.compound("500", frozenset({"APC"}))
        self.apc_x = self.i500.field(("APC", "X"), "m")
        self.apc_y = self.i500.field(("APC", "Y"), "m")
        self.cnf, self.tse, self.sim = f(("080", "CNF")), f(("080", "TSE")), f(("080", "SIM"))
        self.md4, self.md5 = f(("080", "MD4")), f(("080", "MD5"))
        self.trans, self.long = f(("200", "TRANS")), f(("200", "LONG"))
        self.vert = f(("200", "VERT"))
        self.chr, self.mode3a = f(("245", "CHR")), f(("060", "MODE3A"))

    def record(self, data: bytes, found: dict[str, tuple[int, int]]) -> RadarRecord:
        get = found.get
        if (i010 := get("010")) is not None:
            out = RadarRecord(62, self.sac.raw(data, i010[0]), self.sic.raw(data, i010[0]))
        else:
            out = RadarRecord(62, -1, -1)
        if (i040 := get("040")) is not None:
            out.track_number = self.track_number.raw(data, i040[0])
        if (i070 := get("070")) is not None:
            out.tod_s = self.tod.quantity(data, i070[0])
        if (i105 := get("105")) is not None:
            out.lat = self.lat.quantity(data, i105[0])
            out.lon = self.lon.quantity(data, i105[0])
        elif (i100 := get("100")) is not None:
            out.x_m = self.x.quantity(data, i100[0])
            out.y_m = self.y.quantity(data, i100[0])
        if (i130 := get("130")) is not None:
            out.alt_m = self.alt.quantity(data, i130[0]) * FT
        if (i135 := get("135")) is not None:
            out.fl_m = self.ctb.quantity(data, i135[0]) * FL
        elif (i136 := get("136")) is not None:
            out.fl_m = self.fl.quantity(data, i136[0]) * FL
        if (i185 := get("185")) is not None:
            out.vx_mps = self.vx.quantity(data, i185[0])
            out.vy_mps = self.vy.quantity(data, i185[0])
        if (i220 := get("220")) is not None:
            out.climb_mps = self.climb.quantity(data, i220[0]) * FT / 60.0
        if (i500 := get("500")) is not None:
            at, n = i500
            if (apc := self.i500.split(data, at, at + n).get("APC")) is not None:
                out.sigma_x_m = self.apc_x.quantity(data, apc[0])
                out.sigma_y_m = self.apc_y.quantity(data, apc[0])
        if (i080 := get("080")) is not None:
            at, n = i080
            out.tentative = self.cnf.within(n) and self.cnf.raw(data, at) == 1
            if self.tse.within(n):
                out.end = self.tse.raw(data, at) == 1
                out.simulated = _present(self.sim, n) and self.sim.raw(data, at) == 1
            if self.md4.within(n):
                out.identity = IDENTITY.get(self.md4.raw(data, at))
                if out.identity is None and _present(self.md5, n):
                    out.identity = IDENTITY.get(self.md5.raw(data, at))
        if (i200 := get("200")) is not None:
            at = i200[0]
            out.transversal = TRANSVERSAL[self.trans.raw(data, at)]
            out.longitudinal = LONGITUDINAL[self.long.raw(data, at)]
            out.vertical = VERTICAL[self.vert.raw(data, at)]
        if (i245 := get("245")) is not None:
            out.callsign = self.chr.text(data, i245[0]).strip() or None
        if (i060 := get("060")) is not None:
            out.mode3a = self.mode3a.text(data, i060[0])
        return out


class _Cat048Reader(_Reader):
    """CAT048 datablocks to RadarRecords as `_cat048` makes them, from the bytes."""

    def __init__(self, spec: Any) -> None:
        layout = self.layout = RecordLayout(
            spec,
            frozenset(
                {"010", "161", "140", "040", "110", "090", "200", "210", "170", "020", "240", "070"}
            ),
        )
        f = layout.field
        self.sac, self.sic = f(("010", "SAC")), f(("010", "SIC"))
        self.track_number, self.tod = f(("161", "TRN")), f(("140",), "s")
        self.rho, self.theta = f(("040", "RHO"), "NM"), f(("040", "THETA"), "°")
        self.height, self.fl = f(("110", "3DH"), "ft"), f(("090", "FL"), "FL")
        self.speed, self.heading = f(("200", "GSP"), "NM/s"), f(("200", "HDG"), "°")
        self.sigma_x, self.sigma_y = f(("210", "SIGX"), "NM"), f(("210", "SIGY"), "NM")
        self.cnf, self.cdm, self.tre = f(("170", "CNF")), f(("170", "CDM")), f(("170", "TRE"))
        self.sim, self.foe = f(("020", "SIM")), f(("020", "FOEFRI"))
        self.callsign, self.mode3a = f(("240",)), f(("070", "MODE3A"))

    def record(self, data: bytes, found: dict[str, tuple[int, int]]) -> RadarRecord:
        get = found.get
        if (i010 := get("010")) is not None:
            out = RadarRecord(48, self.sac.raw(data, i010[0]), self.sic.raw(data, i010[0]))
        else:
            out = RadarRecord(48, -1, -1)
        if (i161 := get("161")) is not None:
            out.track_number = self.track_number.raw(data, i161[0])
        if (i140 := get("140")) is not None:
            out.tod_s = self.tod.quantity(data, i140[0])
        if (i040 := get("040")) is not None:
            out.rho_m = self.rho.quantity(data, i040[0]) * NM
            out.theta_deg = self.theta.quantity(data, i040[0])
        if (i110 := get("110")) is not None:
            out.alt_m = self.height.quantity(data, i110[0]) * FT
        if (i090 := get("090")) is not None:
            out.fl_m = self.fl.quantity(data, i090[0]) * FL
        if (i200 := get("200")) is not None:
            out.speed_mps = self.speed.quantity(data, i200[0]) * NM
            out.heading_deg = self.heading.quantity(data, i200[0])
        if (i210 := get("210")) is not None:
            out.sigma_x_m = self.sigma_x.quantity(data, i210[0]) * NM
            out.sigma_y_m = self.sigma_y.quantity(data, i210[0]) * NM
        if (i170 := get("170")) is not None:
            at, n = i170
            if not (self.cnf.within(n) and self.cdm.within(n)):
                raise Unsupported  # `_cat048` reads both: libasterix's path counts it
            out.tentative = self.cnf.raw(data, at) == 1
            out.vertical = VERTICAL[self.cdm.raw(data, at)]
            if self.tre.within(n):
                out.end = self.tre.raw(data, at) == 1
        if (i020 := get("020")) is not None:
            at, n = i020
            out.simulated = _present(self.sim, n) and self.sim.raw(data, at) == 1
            if self.foe.within(n):
                out.identity = IDENTITY.get(self.foe.raw(data, at))
        if (i240 := get("240")) is not None:
            out.callsign = self.callsign.text(data, i240[0]).strip() or None
        if (i070 := get("070")) is not None:
            out.mode3a = self.mode3a.text(data, i070[0])
        return out


def _present(field: Any, length: int) -> bool:
    """A field that `_cat062`/`_cat048` read unconditionally once they reach it: if an
    extended item stops before it, libasterix's path counts the record as malformed, so the
    fast path leaves the datablock to it."""
    if not field.within(length):
        raise Unsupported
    return True
