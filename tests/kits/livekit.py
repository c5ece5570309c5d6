"""A real server and a real browser for tests: the app under uvicorn in a thread, and Debian's
chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from airwarn.service import Service
from airwarn.web import WebSettings, create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app under uvicorn in a thread, on a free port of this machine."""

    def __init__(self, service: Service, settings: WebSettings | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(service, settings or WebSettings()),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium under Playwright; skips when it is not installed."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def built_assets() -> None:
    """Skip unless the pages' scripts are built (`npm run build --prefix web`)."""
    dist = Path(__file__).resolve().parents[2] / "airwarn" / "web" / "static" / "dist"
    if not (dist / "console.js").exists():
        pytest.skip("the pages are not built: npm ci --prefix web && npm run build --prefix web")
