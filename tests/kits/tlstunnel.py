"""Published clients, unmodified, pointed at a local airwarn the way a deployment would do it.

The clients call their services' real names over HTTPS (`https://www.oref.org.il/...`,
`https://api.alerts.in.ua/...`). An agency points those names at airwarn and has the devices
trust its certificate; here: airwarn under uvicorn with TLS, its certificate for those names
issued by a test CA (trustme), and a CONNECT proxy that relays bytes to it (it decrypts
nothing). `requests`, which all these clients use, honours `HTTPS_PROXY` and
`REQUESTS_CA_BUNDLE`; nothing in the clients is patched.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme
import uvicorn

HOSTS = ("www.oref.org.il", "alerts-history.oref.org.il", "api.alerts.in.ua", "www.tzevaadom.co.il")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TlsServer:
    """An ASGI app under uvicorn with TLS, in a thread, on a free port of this machine."""

    def __init__(self, app: Any, certfile: Path, keyfile: Path) -> None:
        self.port = _free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            ssl_certfile=str(certfile),
            ssl_keyfile=str(keyfile),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> TlsServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the TLS server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ConnectTunnel(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy for the given host names only, relaying every tunnel to one
    local port; it records which host:port each client asked for."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target_port: int, hosts: tuple[str, ...] = HOSTS) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.target_port = target_port
        self.hosts = hosts
        self.connects: list[str] = []
        self.open: set[socket.socket] = set()  # relayed connections, closed on exit
        self.port = int(self.server_address[1])
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> ConnectTunnel:  # type: ignore[override]
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.shutdown()
        self.server_close()
        # a client may still hold its connection open (a response object not yet collected):
        # end them, or the server would wait for each TLS goodbye until its timeout
        for sock in list(self.open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Relay(socketserver.BaseRequestHandler):
    server: ConnectTunnel

    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) > 65_536:
                return
            head += chunk
        request_line, _, _ = head.partition(b"\r\n")
        method, target, *_ = request_line.decode("latin-1").split(" ")
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host not in self.server.hosts or port != "443":
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.connects.append(target)
        with socket.create_connection(("127.0.0.1", self.server.target_port)) as upstream:
            self.server.open.update((client, upstream))
            try:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                early = head.partition(b"\r\n\r\n")[2]
                if early:
                    upstream.sendall(early)
                _pipe(client, upstream)
            finally:
                self.server.open.difference_update((client, upstream))


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select(timeout=30):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(65_536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    key.data.sendall(data)
                except OSError:
                    return


@contextmanager
def pointed_at(
    app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnectTunnel]:
    """Serve `app` over TLS as the clients' host names, and point `requests` at it through
    the tunnel, by environment only: what an agency's deployment does with DNS or a proxy."""
    ca = trustme.CA()
    cert = ca.issue_cert(*HOSTS)
    certfile, keyfile, bundle = (
        tmp_path / "server.pem",
        tmp_path / "server.key",
        tmp_path / "ca.pem",
    )
    certfile.write_bytes(b"".join(pem.bytes() for pem in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(bundle))
    with TlsServer(app, certfile, keyfile) as server, ConnectTunnel(server.port) as tunnel:
        for name in (
            "https_proxy",
            "no_proxy",
            "NO_PROXY",
            "all_proxy",
            "ALL_PROXY",
            "CURL_CA_BUNDLE",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{tunnel.port}")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        yield tunnel
