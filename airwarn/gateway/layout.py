"""Where the items of an ASTERIX record sit in its bytes, worked out once from libasterix's
generated specification (the same classes its parser walks), so that the decoder can read the
few items airwarn uses straight from a datagram instead of building libasterix's object tree for
every item of every record (some 110 µs of CPU a CAT062 record here, most of the gateway's work).

It is a fast path beside libasterix, not a second parser. `RecordLayout.split` reads a record's
FSPEC and steps over each present item by the length its structure gives (fixed, extended,
repetitive, explicit or compound, all from the specification's classes); an item of any other
structure is measured by libasterix's own item parser. `Field` reads one subitem's bits, with
the LSB, signedness and character set the specification gives. Whatever the fast path cannot
account for (a spare or undefined FSPEC bit set, an item cut short, a last FX bit set, a random
field sequence) raises `Unsupported`, and the decoder parses that datablock with libasterix as
before, so a datablock's verdict (its records, or malformed) stays libasterix's; the tests
compare the two paths on random and damaged datagrams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asterix.base import (
    Bits,
    Compound,
    ContentQuantity,
    ContentString,
    Element,
    Explicit,
    Extended,
    Group,
    Item,
    Repetitive,
    RuleContentContextFree,
    RuleVariationContextFree,
    Signed,
    StringType,
    UapItem,
)

MAX_FSPECS = 1024  # distinct FSPECs (sets of items) remembered per layout


class Unsupported(Exception):
    """The fast path cannot vouch for these bytes: let libasterix parse the datablock."""


class LayoutError(Exception):
    """An edition's specification does not have a field where the fast path reads it."""


# (data, start, end) -> the item's length in bytes; raises Unsupported
Length = Callable[[bytes, int, int], int]
# what split() finds: item name -> (start, length in bytes)
Found = dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Field:
    """One subitem's bits within its item: `raw` is its unsigned value, `quantity` its value in
    the specification's unit, `text` its characters."""

    start: int  # bytes from the item's first
    stop: int
    shift: int
    mask: int
    half: int  # 2 ** (bits - 1) for a signed quantity, else 0
    lsb: float
    bits: int
    strings: type[StringType] | None

    def raw(self, data: bytes, at: int) -> int:
        return (
            int.from_bytes(data[at + self.start : at + self.stop], "big") >> self.shift
        ) & self.mask

    def quantity(self, data: bytes, at: int) -> float:
        x = (
            int.from_bytes(data[at + self.start : at + self.stop], "big") >> self.shift
        ) & self.mask
        if self.half and x >= self.half:
            x -= 2 * self.half  # as libasterix's Signed.convert
        return x * self.lsb

    def text(self, data: bytes, at: int) -> str:
        assert self.strings is not None
        return self.strings.to_string(self.bits, self.raw(data, at))

    def within(self, length: int) -> bool:
        """Whether an item of `length` bytes holds this field (an extended item may stop
        before it)."""
        return length >= self.stop


def field(record: Any, path: tuple[str, ...], unit: str | None = None) -> Field:
    """The field at `path` (item, then subitems) of a libasterix record class (or compound
    item); `unit` checks a quantity's unit against the specification's."""
    item, *rest = path
    nsp = record.cv_items_dict.get(item)
    if nsp is None:
        raise LayoutError(f"no item {item}")
    offset, bits, element = _locate(_variation(nsp, path), rest, path)
    rule = element.cv_rule
    if not issubclass(rule, RuleContentContextFree):
        raise LayoutError(f"{'/'.join(path)}: content depends on another item")
    content = rule.cv_content
    half, lsb, strings = 0, 1.0, None
    if issubclass(content, ContentQuantity):
        if unit is not None and content.cv_unit != unit:
            raise LayoutError(f"{'/'.join(path)} is in {content.cv_unit}, not {unit}")
        half = 2 ** (bits - 1) if content.cv_signedness is Signed else 0
        lsb = content.cv_lsb
    elif unit is not None:
        raise LayoutError(f"{'/'.join(path)} is not a quantity")
    if issubclass(content, ContentString):
        strings = content.cv_string_type
    start, stop = offset // 8, -(-(offset + bits) // 8)
    return Field(start, stop, stop * 8 - offset - bits, (1 << bits) - 1, half, lsb, bits, strings)


def _variation(nsp: Any, path: tuple[str, ...]) -> Any:
    rule = nsp.cv_rule
    if not issubclass(rule, RuleVariationContextFree):
        raise LayoutError(f"{'/'.join(path)}: structure depends on another item")
    return rule.cv_variation


def _locate(variation: Any, rest: list[str], path: tuple[str, ...]) -> tuple[int, int, Any]:
    """(bit offset, bit size, Element class) of the subitem `rest` names in `variation`."""
    if not rest:
        if issubclass(variation, Element):
            return 0, variation.cv_bit_size, variation
        raise LayoutError(f"{'/'.join(path)} is not an element")
    name, *deeper = rest
    if issubclass(variation, Compound):  # its subitems move: see RecordLayout.compound
        raise LayoutError(
            f"{'/'.join(path)}: a compound item's subitems are read with RecordLayout.compound"
        )
    if issubclass(variation, Group):
        entries = [(cls, size) for cls, size in variation.cv_items_list]
    elif issubclass(variation, Extended):
        entries = [
            (None, 1) if entry is None else entry
            for group in variation.cv_items_list
            for entry in group
        ]
    else:
        raise LayoutError(f"{'/'.join(path)}: no subitems in a {variation.__name__}")
    offset = 0
    for cls, size in entries:
        if cls is not None and issubclass(cls, Item) and cls.cv_non_spare.cv_name == name:
            inner, bits, element = _locate(_variation(cls.cv_non_spare, path), deeper, path)
            return offset + inner, bits, element
        offset += size
    raise LayoutError(f"no subitem {name} in {'/'.join(path)}")


def _length(nsp: Any) -> tuple[int, Length | None]:
    """How to step over an item: (its size in bytes, None), or (0, a function of the bytes)."""
    rule = nsp.cv_rule
    # a dependent item is parsed with its default structure (libasterix does the same)
    variation = (
        rule.cv_variation
        if issubclass(rule, RuleVariationContextFree)
        else rule.cv_default_variation
    )
    if issubclass(variation, (Element, Group)):
        if variation.cv_bit_size % 8 == 0:
            return variation.cv_bit_size // 8, None
    elif issubclass(variation, Extended):
        sizes, fx = [], []
        for group in variation.cv_items_list:
            bits = sum(1 if entry is None else entry[1] for entry in group)
            sizes.append(bits)
            fx.append(bool(group) and group[-1] is None)
        if all(bits % 8 == 0 for bits in sizes):
            return 0, _extended([bits // 8 for bits in sizes], fx)
    elif issubclass(variation, Repetitive):
        element = variation.cv_variation
        if issubclass(element, (Element, Group)):
            bits, count_bytes = element.cv_bit_size, variation.cv_rep_bytes
            if count_bytes is not None and bits % 8 == 0:
                return 0, _counted(count_bytes, bits // 8)
            if count_bytes is None and (bits + 1) % 8 == 0:
                return 0, _chained((bits + 1) // 8)
    elif issubclass(variation, Explicit):
        return 0, _explicit
    elif issubclass(variation, Compound):
        return 0, CompoundLayout(variation).length
    return 0, _by_libasterix(nsp)


def _extended(sizes: list[int], fx: list[bool]) -> Length:
    last = len(sizes) - 1

    def length(data: bytes, at: int, end: int) -> int:
        n = 0
        for i, size in enumerate(sizes):
            n += size
            if at + n > end:
                raise Unsupported
            if not fx[i] or not data[at + n - 1] & 1:
                return n
            if i == last:  # the last FX bit must be 0
                raise Unsupported
        return n

    return length


def _counted(count_bytes: int, size: int) -> Length:
    def length(data: bytes, at: int, end: int) -> int:
        if at + count_bytes > end:
            raise Unsupported
        n = count_bytes + size * int.from_bytes(data[at : at + count_bytes], "big")
        if at + n > end:
            raise Unsupported
        return n

    return length


def _chained(size: int) -> Length:
    def length(data: bytes, at: int, end: int) -> int:
        n = 0
        while True:
            n += size
            if at + n > end:
                raise Unsupported
            if not data[at + n - 1] & 1:
                return n

    return length


def _explicit(data: bytes, at: int, end: int) -> int:
    if at >= end or data[at] == 0 or at + data[at] > end:
        raise Unsupported
    return data[at]


def _by_libasterix(nsp: Any) -> Length:
    def length(data: bytes, at: int, end: int) -> int:
        result = nsp.parse(Bits(data, at * 8, end * 8))
        if isinstance(result, ValueError):
            raise Unsupported
        _, rest = result
        if rest.bit_offset1 % 8:
            raise Unsupported
        return int(rest.bit_offset1 // 8 - at)

    return length


# a present item: (name, size in bytes or 0, its length function, wanted)
_Step = tuple[str, int, Length | None, bool]


class _Fspec:
    """A sequence of items chosen by an FSPEC: a record's, or a compound item's."""

    def __init__(
        self,
        entries: list[tuple[str, int, Length | None] | None],
        max_bytes: int,
        wanted: frozenset[str],
    ) -> None:
        self.entries = [None if e is None else (*e, e[0] in wanted) for e in entries]
        self.max_bytes = max_bytes
        self.plans: dict[bytes, tuple[_Step, ...]] = {}

    def split(self, data: bytes, at: int, end: int) -> tuple[Found, int]:
        """The wanted items of the sequence at `at` (start, length), and where it ends."""
        first = at
        while True:
            if at >= end:
                raise Unsupported  # an FSPEC cut short
            at += 1
            if not data[at - 1] & 1:
                break
        fspec = data[first:at]
        steps = self.plans.get(fspec)
        if steps is None:
            steps = self._plan(fspec)
        found: Found = {}
        for name, size, length, wanted in steps:
            n = size or length(data, at, end)  # type: ignore[misc]
            if wanted:
                found[name] = (at, n)
            at += n
        if at > end:
            raise Unsupported
        return found, at

    def _plan(self, fspec: bytes) -> tuple[_Step, ...]:
        if len(fspec) > self.max_bytes:
            raise Unsupported
        steps = []
        for k, octet in enumerate(fspec):
            for bit in range(7):
                if octet & (0x80 >> bit):
                    index = 7 * k + bit
                    entry = self.entries[index] if index < len(self.entries) else None
                    if entry is None:  # a spare, undefined or random field sequence bit
                        raise Unsupported
                    steps.append(entry)
        plan = tuple(steps)
        if len(self.plans) < MAX_FSPECS:
            self.plans[fspec] = plan
        return plan


class CompoundLayout:
    """A compound item's subitems (for instance I062/500, whose APC the gateway reads)."""

    def __init__(self, variation: Any, wanted: frozenset[str] = frozenset()) -> None:
        self.variation = variation
        entries = [
            None if nsp is None else (nsp.cv_name, *_length(nsp)) for nsp in variation.cv_items_list
        ]
        self._fspec = _Fspec(entries, variation.cv_fspec_max_bytes, wanted)

    def length(self, data: bytes, at: int, end: int) -> int:
        _, stop = self._fspec.split(data, at, end)
        return stop - at

    def split(self, data: bytes, at: int, end: int) -> Found:
        return self._fspec.split(data, at, end)[0]

    def field(self, path: tuple[str, ...], unit: str | None = None) -> Field:
        """A field of one of its subitems (`("APC", "X")`)."""
        return field(self.variation, path, unit)


class RecordLayout:
    """The items of one edition's records: where each starts, for the `wanted` ones."""

    def __init__(self, spec: Any, wanted: frozenset[str]) -> None:
        self.record = spec.cv_uap.cv_record
        entries: list[tuple[str, int, Length | None] | None] = []
        for uap_item in self.record.cv_items_list:
            if issubclass(uap_item, UapItem):
                nsp = uap_item.cv_non_spare
                entries.append((nsp.cv_name, *_length(nsp)))
            else:  # a spare FRN, or a random field sequence: libasterix's to parse
                entries.append(None)
        self._fspec = _Fspec(entries, self.record.cv_fspec_max_bytes, wanted)

    def split(self, data: bytes, at: int, end: int) -> tuple[Found, int]:
        """The wanted items of the record at `at`, and where the next record starts."""
        return self._fspec.split(data, at, end)

    def field(self, path: tuple[str, ...], unit: str | None = None) -> Field:
        return field(self.record, path, unit)

    def compound(self, item: str, wanted: frozenset[str]) -> CompoundLayout:
        nsp = self.record.cv_items_dict.get(item)
        if nsp is None:
            raise LayoutError(f"no item {item}")
        variation = _variation(nsp, (item,))
        if not issubclass(variation, Compound):
            raise LayoutError(f"item {item} is not compound")
        return CompoundLayout(variation, wanted)
