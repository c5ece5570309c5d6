"""Contract v1 validation: every bad line is refused with its line, field and value named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airwarn.contract import (
    Decision,
    End,
    Manual,
    Tick,
    Track,
    decode_decision,
    encode_decision,
    format_time,
    parse_event,
    parse_time,
)
from airwarn.errors import EventError

GOOD_TRACK = (
    b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06.075Z",'
    b'"lat":31.38,"lon":34.38,"alt_m":1513.6,"sigma_m":40}'
)


def test_the_design_examples_parse():
    event = parse_event(GOOD_TRACK)
    assert isinstance(event, Track) and event.sigma_m == 40 and event.vel_mps is None
    assert isinstance(
        parse_event(b'{"type":"end","threat":"T1","t":"2026-03-01T18:01:00Z","reason":"impact"}'),
        End,
    )
    manual = parse_event(
        b'{"type":"manual","action":"alert","zones":["5000511"],'
        b'"t":"2026-03-01T18:00:00Z","category":"missiles","by":"op-7"}'
    )
    assert isinstance(manual, Manual) and manual.zones == ["5000511"]
    assert isinstance(parse_event(b'{"type":"tick","t":"2026-03-01T18:00:00Z"}'), Tick)


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (
            b'{"type":"track","threat":"T1","kind":"rockt","t":"2026-03-01T18:00:06Z","lat":1,'
            b'"lon":2}',
            "$.kind",
            "rocket, ballistic, cruise, drone",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06Z","lat":91,'
            b'"lon":2}',
            "$.lat",
            "<= 90",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06","lat":1,'
            b'"lon":2}',
            "$.t",
            "trailing Z",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"noon","lat":1,"lon":2}',
            "$.t",
            "RFC3339",
        ),
        (
            b'{"type":"track","kind":"rocket","t":"2026-03-01T18:00:06Z","lat":1,"lon":2}',
            "$.threat",
            "missing",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06Z","lat":1,'
            b'"lon":2,"sigma":3}',
            "$.sigma",
            "unknown field",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06Z","lat":1,'
            b'"lon":2,"sigma_m":-3}',
            "$.sigma_m",
            "> 0",
        ),
        (
            b'{"type":"track","threat":"T1","kind":"rocket","t":"2026-03-01T18:00:06Z","lat":1,'
            b'"lon":2,"vel_mps":[1,2]}',
            "$.vel_mps",
            "length >= 3",
        ),
        (b'{"type":"alarm","t":"2026-03-01T18:00:06Z"}', "$.type", "track, end, manual, tick"),
        (
            b'{"type":"end","threat":"T1","t":"2026-03-01T18:00:06Z","reason":"bored"}',
            "$.reason",
            "Invalid enum",
        ),
        (
            b'{"type":"manual","action":"alert","t":"2026-03-01T18:00:06Z"}',
            "$.zones",
            "either `zones`",
        ),
        (
            b'{"type":"manual","action":"alert","t":"2026-03-01T18:00:06Z","zones":["a"],'
            b'"region":"b"}',
            "$.zones",
            "not both",
        ),
    ],
)
def test_an_invalid_line_names_its_line_field_and_what_to_do(line, field, words):
    with pytest.raises(EventError) as caught:
        parse_event(line, line=7)
    error = caught.value
    assert error.line == 7
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith("line 7, field ")


def test_malformed_json_and_non_objects_are_refused():
    with pytest.raises(EventError, match="not valid JSON"):
        parse_event(b'{"type": "track",', line=1)
    with pytest.raises(EventError, match="one JSON object"):
        parse_event(b"[1, 2]", line=2)


def test_times_with_offsets_are_converted_to_utc():
    assert parse_time("2026-03-01T20:00:00+02:00") == parse_time("2026-03-01T18:00:00Z")
    assert format_time(parse_time("2026-03-01T18:00:06.075Z")) == "2026-03-01T18:00:06.075Z"


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_decision_times_round_trip_to_the_millisecond(t_ms):
    assert parse_time(format_time(t_ms)) == t_ms


def test_decisions_are_one_line_with_fields_in_contract_order():
    decision = Decision(
        seq=17,
        t="2026-03-01T18:00:09.120Z",
        zone="5000511",
        level="alert",
        threats=["T1"],
        kind="rocket",
    )
    line = encode_decision(decision)
    assert line == (
        b'{"seq":17,"t":"2026-03-01T18:00:09.120Z","zone":"5000511","level":"alert",'
        b'"threats":["T1"],"kind":"rocket"}'
    )
    assert decode_decision(line) == decision


@given(st.binary(max_size=200))
def test_arbitrary_bytes_either_parse_or_raise_a_contract_error(raw):
    try:
        parse_event(raw, line=1)
    except EventError as error:
        assert error.line == 1  # noqa: PT017 (any input: it may parse, so no pytest.raises)
