"""CAP messages as another agency's system sends them, for the tests of inbound CAP."""

from __future__ import annotations

from shapely.geometry import box

from airwarn.cap import CapWarning, CapZone, SigningKeys, build_cap, sign, to_bytes

NEIGHBOUR = "alerts@neighbour.example"
SENT_MS = 1_772_388_000_000
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


def message(
    identifier: str,
    sender: str = NEIGHBOUR,
    msg_type: str = "Alert",
    status: str = "Actual",
    refs: tuple[tuple[str, str], ...] = (),
    keys: SigningKeys | None = None,
    tamper: bool = False,
) -> bytes:
    """A CAP message whose area covers zones r0c0 and r0c1; signed with `keys` if given.
    `refs` are (sender, identifier) of the messages it references, whoever sent them."""
    zone = CapZone(id="x1", name="two towns", region=None, geometry=box(34.61, 31.41, 34.69, 31.44))
    warning = CapWarning(
        identifier=identifier,
        sender=sender,
        sent_ms=SENT_MS,
        status=status,
        msg_type=msg_type,
        level="clear" if msg_type == "Cancel" else "alert",
        kind="rocket",
        zones=(zone,),
        references=tuple((ident, SENT_MS) for _, ident in refs),
        note="sent in error" if msg_type == "Cancel" else None,
    )
    element = build_cap(warning)
    if refs:  # name each referenced message's own sender, as CAP does
        element.find(f"{{{CAP_NS}}}references").text = " ".join(
            f"{who},{ident},2026-03-01T18:00:00-00:00" for who, ident in refs
        )
    body = to_bytes(element) if keys is None else sign(element, keys)
    if tamper:  # move the area after signing: a forger's edit of a real message
        body = body.replace(b"34.61", b"34.71", 1)
    return body
