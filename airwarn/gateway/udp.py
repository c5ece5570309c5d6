"""UDP sockets for ASTERIX: a listener on a unicast address or a multicast group (IPv4 or
IPv6) that reports the datagrams the kernel dropped, and a sender for the player.

A flood is bounded by the socket's receive buffer (`SO_RCVBUF`): what does not fit is dropped
by the kernel, never queued without limit. On Linux, `SO_RXQ_OVFL` makes the kernel hand over,
with each datagram, how many it has dropped on this socket so far; the listener keeps that
figure so the gateway can show it; `refresh_drops` reads the same counter from /proc/net/udp
at any time.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from airwarn.errors import AirwarnError

SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)  # Linux's value; Python does not export it
MAX_DATAGRAM = 65_535


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.host)

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if self.ip.version == 6 else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if self.ip.version == 6 else f"{self.host}:{self.port}"


def parse_endpoint(text: str, what: str = "the address") -> Endpoint:
    """`HOST:PORT` or `[IPV6]:PORT`, with HOST an IP address (unicast or multicast)."""
    try:
        if text.startswith("["):
            host, _, port = text[1:].partition("]:")
        else:
            host, _, port = text.rpartition(":")
        endpoint = Endpoint(host, int(port))
        endpoint.ip  # noqa: B018 (validates)
        if not 0 < endpoint.port < 65_536:
            raise ValueError
    except ValueError:
        raise AirwarnError(
            f"{what} is IP:PORT, [IPV6]:PORT or a multicast group such as "
            f"239.255.62.1:30062 or [ff15::62]:30062; not {text!r}"
        ) from None
    return endpoint


def _interface_index(name: str | None) -> int:
    if not name:
        return 0
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise AirwarnError(
            f"--interface: no network interface named {name!r} (for IPv6 "
            "give its name, such as eth0 or lo)"
        ) from None


class Listener:
    """A bound UDP socket; `receive()` returns one datagram or None after `timeout_s`."""

    def __init__(
        self,
        endpoint: Endpoint,
        interface: str | None = None,
        rcvbuf_bytes: int = 4 * 1024 * 1024,
        timeout_s: float = 0.1,
    ) -> None:
        self.endpoint = endpoint
        self.kernel_drops = 0
        self.drops_visible = False  # the platform reports drops (SO_RXQ_OVFL)
        index = _interface_index(interface) if endpoint.ip.version == 6 else 0
        sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
            if sys.platform.startswith("linux"):
                sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
                self.drops_visible = True
            ip = endpoint.ip
            if ip.is_multicast and ip.version == 4:
                sock.bind((endpoint.host, endpoint.port))
                local = socket.inet_aton(interface or "0.0.0.0")
                sock.setsockopt(
                    socket.IPPROTO_IP,
                    socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(endpoint.host) + local,
                )
            elif ip.is_multicast:
                sock.bind((endpoint.host, endpoint.port, 0, index))
                sock.setsockopt(
                    socket.IPPROTO_IPV6,
                    socket.IPV6_JOIN_GROUP,
                    ip.packed + struct.pack("@I", index),
                )
            else:
                sock.bind((endpoint.host, endpoint.port))
        except OSError as error:
            sock.close()
            raise AirwarnError(f"cannot listen on {endpoint}: {error.strerror or error}") from None
        sock.settimeout(timeout_s)
        self.sock = sock
        self.rcvbuf_bytes = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self._ancillary = socket.CMSG_SPACE(4)

    def receive(self) -> bytes | None:
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(MAX_DATAGRAM, self._ancillary)
        except TimeoutError:
            return None
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= 4:
                self.kernel_drops = struct.unpack("@I", value[:4])[0]
        return data

    def refresh_drops(self) -> int:
        """The kernel's drop count for this socket now. SO_RXQ_OVFL hands it over only with a
        datagram queued after a drop (so not while a flood keeps the buffer full to the end);
        on Linux, /proc/net/udp holds the same counter (`drops`) for the socket's inode."""
        table = Path(
            "/proc/net/udp6" if self.endpoint.family == socket.AF_INET6 else "/proc/net/udp"
        )
        try:
            inode = str(os.fstat(self.sock.fileno()).st_ino)
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) >= 13 and fields[9] == inode:
                    self.kernel_drops = max(self.kernel_drops, int(fields[-1]))
                    self.drops_visible = True
                    break
        except (OSError, ValueError):
            pass
        return self.kernel_drops

    def discard_pending(self, limit_s: float = 2.0) -> int:
        """Read and count, without keeping, what the socket still holds (at a stop)."""
        self.sock.setblocking(False)
        count, deadline = 0, time.monotonic() + limit_s
        try:
            while time.monotonic() < deadline:
                self.sock.recv(MAX_DATAGRAM)
                count += 1
        except (BlockingIOError, InterruptedError):
            pass
        return count

    def close(self) -> None:
        self.refresh_drops()
        self.sock.close()


class Sender:
    """A UDP socket that sends to one endpoint; multicast leaves by `interface`."""

    def __init__(self, endpoint: Endpoint, interface: str | None = None, ttl: int = 1) -> None:
        self.endpoint = endpoint
        sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
        ip = endpoint.ip
        self.address: tuple[str, int] | tuple[str, int, int, int]
        self.address = (endpoint.host, endpoint.port)
        try:
            if ip.is_multicast and ip.version == 4:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
                if interface:
                    sock.setsockopt(
                        socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface)
                    )
            elif ip.is_multicast:
                index = _interface_index(interface)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
                if index:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                self.address = (endpoint.host, endpoint.port, 0, index)
        except OSError as error:
            sock.close()
            raise AirwarnError(f"cannot send to {endpoint}: {error.strerror or error}") from None
        self.sock = sock

    def send(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, self.address)

    def close(self) -> None:
        self.sock.close()
