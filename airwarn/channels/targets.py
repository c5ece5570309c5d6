"""Where airwarn's outgoing requests may go: webhook and Web Push targets, never the inside.

Anyone who can subscribe a URL (an administrator for webhooks, any browser for Web Push) could
otherwise make the server POST to addresses only it can reach: a cloud metadata service at
169.254.169.254, a database on 10.0.0.5, an admin page on 127.0.0.1. So a target is refused when
its host is, or resolves to, an address that is not public: loopback, private, shared (CGNAT),
link-local, multicast, reserved, unspecified, documentation, and IPv6 forms that carry an IPv4
address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo) unless the address they carry is
public. The standard `ipaddress` module classifies; a host written as a number in any form the C
library accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) is read as the address it means.

The check runs twice: when the target is subscribed (`check_resolved`, a 422 naming the field),
and
at every connection, after DNS resolution (`GuardedResolver`, the resolver of the senders'
aiohttp sessions): aiohttp connects to exactly the addresses the resolver returned, so a name
that resolved to a public address when it was checked cannot be made to point inside later
(DNS rebinding). `allow_private=True` (`airwarn serve --allow-private-targets`) lifts the rule
for closed networks whose receivers are on private addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from airwarn.errors import AirwarnError, RequestError

if TYPE_CHECKING:
    IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOKUP_TIMEOUT_S = 2.0  # a subscription waits this long for DNS, then lets delivery decide
PRIVATE_HINT = "; a receiver on a private network needs `airwarn serve --allow-private-targets`"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1 (deprecated)
_KINDS = (
    ("is_unspecified", "the unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


class TargetRefused(AirwarnError, OSError):
    """A target resolved to an address airwarn does not send to; the message says which. An
    OSError too: it is raised inside the HTTP client's resolver, which passes on only those."""


def refusal(address: IPAddress) -> str | None:
    """Why airwarn will not send to `address`, or None if it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"{address} is an IPv4-mapped IPv6 address (of {address.ipv4_mapped})"
        if address.scope_id:
            return f"{address} is a scoped (link-local) address"
        carried: ipaddress.IPv4Address | None = None
        if address in _IPV4_COMPATIBLE and int(address) > 1:
            return f"{address} is an IPv4-compatible IPv6 address (deprecated)"
        if address.teredo is not None:
            return f"{address} is a Teredo address"
        if address.sixtofour is not None:
            carried = address.sixtofour
        elif address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            inner = refusal(carried)
            if inner is not None:
                return f"{address} carries an IPv4 address: {inner}"
    for attribute, words in _KINDS:
        if getattr(address, attribute):
            return f"{address} is {words}"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names when it is an address, in any form: dotted, IPv6 (with
    its brackets removed), or a number the C library reads as IPv4 (`2130706433`, `0x7f.1`,
    `127.1`); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # the same reading getaddrinfo gives such a host: a name it would not look up
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_addresses(host: str, addresses: Sequence[str], allow_private: bool) -> None:
    """Raise TargetRefused if any of a host's resolved addresses is not public."""
    if allow_private:
        return
    for text in addresses:
        why = refusal(ipaddress.ip_address(text))
        if why is not None:
            raise TargetRefused(f"{host} resolves to {why}")


def check_url(url: str, field: str, *, allow_private: bool) -> None:
    """Refuse (RequestError, a 422 naming `field`) a URL whose host, as written, is an address
    that is not public, or localhost. A name is looked up by `check_resolved`."""
    if allow_private:
        return
    host = (urlsplit(url).hostname or "").rstrip(".")
    address = literal_address(host)
    why = (
        refusal(address)
        if address is not None
        else (
            f"{host} is localhost" if host == "localhost" or host.endswith(".localhost") else None
        )
    )
    if why is not None:
        raise RequestError(
            f"airwarn does not send there: {why}; give a public host" + PRIVATE_HINT,
            field=field,
            value=url,
        )


async def check_resolved(
    url: str, field: str, *, allow_private: bool, timeout_s: float = LOOKUP_TIMEOUT_S
) -> None:
    """`check_url`, then the addresses the URL's host name resolves to now. A name that does
    not resolve (or not within `timeout_s`) is let through: every delivery checks again."""
    check_url(url, field, allow_private=allow_private)
    host = (urlsplit(url).hostname or "").rstrip(".")
    if allow_private or literal_address(host) is not None:
        return
    try:
        async with asyncio.timeout(timeout_s):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, proto=socket.IPPROTO_TCP
            )
    except (OSError, UnicodeError, TimeoutError):
        return
    try:
        check_addresses(host, sorted({str(info[4][0]) for info in infos}), allow_private)
    except TargetRefused as refused:
        raise RequestError(
            f"airwarn does not send there: {refused}" + PRIVATE_HINT, field=field, value=url
        ) from None


def delivery_refusal(url: str, allow_private: bool) -> str | None:
    """Why a delivery to `url` must not be attempted, judging its host as written (a name is
    judged by `GuardedResolver` when the connection is made); None if it may go."""
    if allow_private:
        return None
    host = (urlsplit(url).hostname or "").rstrip(".")
    address = literal_address(host)
    why = refusal(address) if address is not None else None
    return None if why is None else f"airwarn does not send there: {why}" + PRIVATE_HINT


def refused_cause(exc: BaseException) -> TargetRefused | None:
    """The TargetRefused behind an aiohttp connection error, if that is what it was."""
    seen: BaseException | None = exc
    for _ in range(10):  # aiohttp wraps it once or twice; never follow a chain for ever
        if seen is None or isinstance(seen, TargetRefused):
            return seen
        inner = getattr(seen, "os_error", None)
        seen = (
            inner
            if isinstance(inner, BaseException) and inner is not seen
            else (seen.__cause__ or seen.__context__)
        )
    return None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to an address that is not public. Every
    address of the answer is checked, since aiohttp may try any of them."""

    def __init__(self, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self.inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        check_addresses(host, [entry["host"] for entry in found], self.allow_private)
        return found

    async def close(self) -> None:
        await self.inner.close()


def connector(allow_private: bool, limit: int) -> aiohttp.TCPConnector:
    """A connector for a sender's session: connections only to addresses the rule allows."""
    return aiohttp.TCPConnector(limit=limit, resolver=GuardedResolver(allow_private))
