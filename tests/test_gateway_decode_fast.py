"""The decoder's fast path (airwarn/gateway/layout.py) says what libasterix says.

Records are made by libasterix's own encoder from random values for random sets of items (every
item of the edition, whatever its structure: compound, extended, repetitive, explicit), then
decoded twice: by the gateway's decoder and by the same decoder with the fast path off (every
datablock parsed by libasterix). The records, and the counts of what was malformed, must be the
same, for the datagrams as made and for damaged copies of them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from asterix.base import (
    Compound,
    Element,
    Explicit,
    Extended,
    Group,
    Repetitive,
    RuleVariationContextFree,
    UapItem,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from airwarn.gateway.decode import CAT048_EDITIONS, CAT062_EDITIONS, Decoder
from airwarn.gateway.encode import Cat062Encoder, Source

EDITIONS = [(62, e) for e in CAT062_EDITIONS] + [(48, e) for e in CAT048_EDITIONS]


def _bits(n: int, rng: random.Random) -> int:
    """A random n-bit value, often at an edge (zero, all ones, the sign's boundary)."""
    return rng.choice(
        (0, 2**n - 1, 2 ** (n - 1), 2 ** (n - 1) - 1, rng.getrandbits(n), rng.getrandbits(n))
    )


def _value(variation: Any, rng: random.Random) -> Any:
    """A random argument for libasterix's `create` of this structure."""
    if issubclass(variation, (Element, Group)):
        return _bits(variation.cv_bit_size, rng)
    if issubclass(variation, Extended):
        groups = variation.cv_items_list[: rng.randint(1, len(variation.cv_items_list))]
        return tuple(_bits(sum(size for _, size in filter(None, group)), rng) for group in groups)
    if issubclass(variation, Repetitive):
        return [_value(variation.cv_variation, rng) for _ in range(rng.randint(1, 3))]
    if issubclass(variation, Explicit):
        return rng.randbytes(rng.randint(1, 6))
    if issubclass(variation, Compound):
        subitems = [nsp for nsp in variation.cv_items_list if nsp is not None]
        chosen = rng.sample(subitems, rng.randint(1, min(3, len(subitems))))
        return {nsp.cv_name: _value(_structure(nsp), rng) for nsp in chosen}
    raise AssertionError(f"no random value for {variation}")


def _structure(nsp: Any) -> Any:
    rule = nsp.cv_rule
    return (
        rule.cv_variation
        if issubclass(rule, RuleVariationContextFree)
        else rule.cv_default_variation
    )


def random_datablock(category: int, edition: str, rng: random.Random, records: int) -> bytes:
    spec = (CAT062_EDITIONS if category == 62 else CAT048_EDITIONS)[edition]
    items = [i.cv_non_spare for i in spec.cv_uap.cv_record.cv_items_list if issubclass(i, UapItem)]
    made = []
    for _ in range(records):
        chosen = rng.sample(items, rng.randint(1, len(items)))
        made.append(
            spec.cv_record.create({nsp.cv_name: _value(_structure(nsp), rng) for nsp in chosen})
        )
    return bytes(spec.create(made).unparse().to_bytes())


def both(category: int, edition: str) -> tuple[Decoder, Decoder]:
    editions = {"cat062": edition} if category == 62 else {"cat048": edition}
    return Decoder(**editions), Decoder(**editions, fast=False)


@pytest.mark.parametrize(("category", "edition"), EDITIONS)
def test_every_item_of_every_edition_decodes_as_libasterix_decodes_it(
    category: int, edition: str
) -> None:
    fast, reference = both(category, edition)
    assert category in fast.readers  # the fast path knows this edition
    rng = random.Random(f"{category}-{edition}")
    for _ in range(40):
        datagram = random_datablock(category, edition, rng, rng.randint(1, 5))
        assert fast.datagram(datagram) == reference.datagram(datagram)
    assert fast.counts == reference.counts
    assert fast.counts.malformed_blocks == 0 and fast.counts.malformed_records == 0
    assert fast.fast_blocks == 40  # none of these needed libasterix's parse


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    edits=st.lists(
        st.tuples(
            st.floats(0.0, 1.0, exclude_max=True),
            st.sampled_from([0x01, 0x80, 0xFF]) | st.integers(1, 255),
        ),
        max_size=4,
    ),
    cut=st.floats(0.0, 1.0),
    which=st.sampled_from(EDITIONS),
)
def test_a_damaged_datagram_keeps_and_counts_what_libasterix_keeps_and_counts(
    seed: int, edits: list[tuple[float, int]], cut: float, which: tuple[int, str]
) -> None:
    category, edition = which
    rng = random.Random(seed)
    datagram = bytearray(random_datablock(category, edition, rng, rng.randint(1, 4)))
    for where, flips in edits:  # an FX bit (0x01), a first bit, a whole octet, any bits
        datagram[int(where * len(datagram))] ^= flips
    damaged = bytes(datagram[: max(1, round(cut * len(datagram) * 1.2))])
    fast, reference = both(category, edition)
    assert fast.datagram(damaged) == reference.datagram(damaged)
    assert fast.counts == reference.counts


def test_the_gateways_own_cat062_records_take_the_fast_path() -> None:
    encoder = Cat062Encoder(Source(25, 10, simulated=False))
    event = {
        "type": "track",
        "lat": 31.38,
        "lon": 34.38,
        "alt_m": 1513.6,
        "sigma_m": 40.0,
        "vel_mps": [100.0, -50.0, 12.5],
    }
    datagram = encoder.datablock([encoder.record(event, 1000 + n, 5.0) for n in range(30)])
    fast, reference = both(62, "1.21")
    records = fast.datagram(datagram)
    assert fast.fast_blocks == 1 and len(records) == 30
    assert records == reference.datagram(datagram)
    assert abs(records[0].sigma_x_m - 40.0) <= 0.5 and records[0].climb_mps is not None


def test_an_extended_item_whose_last_fx_bit_is_set_is_malformed_as_libasterix_says() -> None:
    spec = CAT062_EDITIONS["1.21"]
    record = spec.cv_record.create(
        {"010": 0x190A, "040": 7, "070": 640, "080": (0, 0, 0, 0, 0, 0, 0)}
    )  # all seven octets
    good = bytes(spec.create([record, record]).unparse().to_bytes())
    # the first I062/080: six octets whose FX bit says "another follows", then the last
    status_end = good.index(b"\x01" * 6 + b"\x00") + 6
    bad = bytearray(good)
    bad[status_end] |= 0x01  # an FX bit after the last octet the edition defines
    fast, reference = both(62, "1.21")
    assert len(fast.datagram(good)) == len(reference.datagram(good)) == 2
    assert fast.datagram(bytes(bad)) == reference.datagram(bytes(bad)) == []
    assert fast.counts == reference.counts and fast.counts.malformed_blocks == 1
