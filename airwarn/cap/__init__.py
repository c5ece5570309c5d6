"""CAP 1.2 (OASIS Common Alerting Protocol): airwarn's messages out, other agencies' in.

Pure functions, no HTTP and no store: `build_cap` makes a message from a `CapWarning`, `sign`
and `verify` handle its XML signature, `atom_feed` lists messages, `parse_inbound` reads CAP
from elsewhere; `chain` decides which messages a step's decisions become and which earlier
ones each updates (the service keeps that chain in its log).
"""

from airwarn.cap.atom import atom_feed
from airwarn.cap.build import CapWarning, CapZone, build_cap, to_bytes
from airwarn.cap.inbound import CapError, InboundAlert, InboundArea, InboundInfo, parse_inbound
from airwarn.cap.sign import (
    CapSignatureError,
    SigningKeys,
    generate_keypair,
    load_or_create_keys,
    sign,
    verify,
)

__all__ = [
    "CapError",
    "CapSignatureError",
    "CapZone",
    "InboundAlert",
    "InboundArea",
    "InboundInfo",
    "SigningKeys",
    "CapWarning",
    "atom_feed",
    "build_cap",
    "generate_keypair",
    "load_or_create_keys",
    "parse_inbound",
    "sign",
    "to_bytes",
    "verify",
]
