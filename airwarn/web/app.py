"""The FastAPI application: routers over one `Service`, errors mapped to HTTP in one place.

`create_app(service, settings)` builds it; `airwarn.server.build` calls it with the lifespan
it made (what runs beside the app: `airwarn.server.lifespan`), the tests call it directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import msgspec
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from airwarn.answers import Health, MapSettings, Readiness
from airwarn.bus import BusSettings
from airwarn.contract import Event
from airwarn.errors import (
    AirwarnError,
    ConflictError,
    ContractError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
    UnavailableError,
)
from airwarn.ports import WALL_CLOCK, Clock, DecisionLog, ServiceView, Writer
from airwarn.service import Service
from airwarn.store import StoreError
from airwarn.store.audit import RefusalThrottle
from airwarn.web import capfeed, inbound, ingest, live, operators, public, readiness, session
from airwarn.web.auth import identity, presented, refuse_unknown_bearer
from airwarn.web.compat.alertsinua import routes as compat_alertsinua
from airwarn.web.compat.homefront import routes as compat_homefront
from airwarn.web.errors import ERRORS
from airwarn.web.headers import SecurityHeaders
from airwarn.web.limits import BodyLimit, LiveLimit, RateLimit
from airwarn.web.tokencache import TokenCache, TokenCacheSettings
from airwarn.web.validation import validation_body

if TYPE_CHECKING:
    from airwarn.channels import Channel  # a Protocol: channels import web, not back

STATIC = Path(__file__).resolve().parent / "static"
Lifespan: TypeAlias = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class WebSettings:
    heartbeat_s: float = 5.0
    tick_s: float = 1.0  # wall-clock mode: how often the engine's clock moves
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch_lines: int = 20_000
    rate_per_s: float = 200.0  # per identity, or per address without a known token
    rate_burst: int = 5000
    max_rate_keys: int = 50_000  # identities and addresses the rate limiter remembers
    max_live_per_address: int = 100  # SSE and WebSocket feeds open at once; 0: no cap
    max_backlog: int = 1000  # steps a live client may fall behind before it is cut off
    max_known_tokens: int = 10_000  # tokens remembered (least recently used go first)
    max_unknown_tokens: int = 10_000  # made-up tokens remembered as such, each briefly
    token_recheck_s: float = 0.25  # how often the store's revocation counter is read
    # an online tile service the maps may offer beside their offline base map (never default)
    tiles_url: str | None = None
    tiles_attribution: str | None = None


_STATUS = [
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ContractError, 422),
    (TooManyRequestsError, 429),
    (UnavailableError, 503),
    (StoreError, 503),
]


def _error_response(exc: AirwarnError) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    body: dict[str, Any] = {"error": getattr(exc, "message", None) or str(exc)}
    if isinstance(exc, ContractError):
        body.update(
            {
                "line": exc.line,
                "field": exc.field,
                "value": exc.value
                if isinstance(exc.value, str | int | float | bool | None)
                else repr(exc.value),
            }
        )
    elif isinstance(exc, ForbiddenError) and exc.line is not None:
        body["line"] = exc.line
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "2"
    if isinstance(exc, TooManyRequestsError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    service: Service,
    settings: WebSettings | None = None,
    channels: Sequence[Channel] = (),
    bus: BusSettings | None = None,
    clock: Clock = WALL_CLOCK,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """The HTTP app over `service`, its routes and the channels' endpoints. `lifespan` starts
    and stops what runs beside it; `airwarn.server.build` passes the one it made
    (`airwarn.server.lifespan`: the live hub, the channels, the ticker or the bus), and the
    same is made here when none is given. `clock` stamps requests."""
    settings = settings or WebSettings()
    if lifespan is None:  # called on its own (tests, benchmarks): run what a server runs
        from airwarn.server import lifespan as server_lifespan

        lifespan = server_lifespan(service, settings, channels, bus, clock)

    app = FastAPI(
        title="airwarn",
        summary="Localized early warning for air threats: zones in danger, warned in time.",
        version="1",
        lifespan=lifespan,
        # the docs page is served from the package's own files (no CDN, no inline script)
        docs_url=None,
        redoc_url=None,
        # a presented bearer token must stand on every route, public reads too
        dependencies=[Depends(refuse_unknown_bearer)],
        responses={401: ERRORS[401]},
    )
    app.state.service = service
    writer: Writer = service  # what the routes write through; the bus's writer on a bus
    app.state.writer = writer
    app.state.runtime = None
    app.state.settings = settings
    app.state.db = service.db
    view: ServiceView = service  # the state the read routes show
    app.state.view = view
    log: DecisionLog = service.log  # the record the routes read
    app.state.log = log
    app.state.clock = clock
    app.state.token_cache = TokenCache(
        TokenCacheSettings(
            max_known=settings.max_known_tokens,
            max_unknown=settings.max_unknown_tokens,
            recheck_s=settings.token_recheck_s,
        )
    )
    app.state.token_streams = set()  # live feeds opened with a token (airwarn.web.live)
    app.state.refusals = RefusalThrottle()  # refused attempts audited, floods counted
    app.state.cache = {}
    app.state.channels = tuple(channels)
    app.state.store_check = None  # (when, problem) of the last read of the store (readiness)
    app.state.store_reading = None  # that read while it is under way

    @app.exception_handler(AirwarnError)
    async def airwarn_error(_request: Request, exc: AirwarnError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(sa.exc.OperationalError)
    async def store_down(_request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        # a read that met a store going away (a restart): the write path says the same
        return _error_response(
            UnavailableError(
                f"the store cannot be read just now ({exc.orig.__class__.__name__}); retry"
            )
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the request's shape, refused by FastAPI: in the shape of the server's own checks
        return JSONResponse(validation_body(exc.errors(), exc.body), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (a body it cannot parse, an unknown path) in airwarn's shape
        return JSONResponse(
            {"error": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    for router in (
        ingest.router,
        operators.router,
        inbound.router,
        public.router,
        live.router,
        session.router,
        capfeed.router,
        compat_homefront.router,
        compat_alertsinua.router,
    ):
        app.include_router(router)
    for channel in channels:
        if channel.router is not None:
            app.include_router(channel.router)

    @app.get(
        "/healthz",
        tags=["public"],
        summary="Is the service up, and how far is its log",
        response_model=Health,
        response_model_exclude_unset=True,
    )
    async def health() -> dict[str, Any]:
        found = await readiness.problems(app)
        out = {
            "ok": not found,
            "problems": found,
            "last_seq": app.state.hub.last_seq if hasattr(app.state, "hub") else service.engine.seq,
            "event_seq": service.event_seq,
            "zones": len(service.zones),
            "clock": service.settings.clock,
            "live_clients": len(app.state.hub.subscribers) if hasattr(app.state, "hub") else 0,
            # the event clock is a lab mode (replays, demos): say so where monitors look
            "lab": service.settings.clock == "events",
        }
        if app.state.runtime is not None:
            out["bus"] = app.state.runtime.status()
        sources = service.engine.relays.states()  # relayed feeds: silence is never safety
        if sources:
            out["sources"] = {name: status.state for name, status in sources.items()}
            out["stale_sources"] = [
                name
                for name, status in sources.items()
                if status.state in ("starting", "stale", "failed")
            ]
        return out

    @app.get(
        "/readyz",
        tags=["public"],
        summary="Can this process be trusted with readers now: 503 naming what fails",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready: see problems"}},
    )
    async def ready() -> JSONResponse:
        found = await readiness.problems(app)
        return JSONResponse(
            {"ready": not found, "problems": found}, status_code=503 if found else 200
        )

    @app.get(
        "/v1/map",
        tags=["public"],
        summary="What the pages' maps may show: the online "
        "tile service this server offers beside the offline base map, if any",
    )
    async def map_settings() -> MapSettings:
        return MapSettings(
            tiles=settings.tiles_url,
            tiles_attribution=settings.tiles_attribution,
            attribution=service.zones.attribution,
        )

    @app.get("/", include_in_schema=False)
    async def public_page() -> Response:
        return _page("public.html")

    @app.get("/console", include_in_schema=False)
    async def console_page() -> Response:
        return _page("console.html")

    @app.get("/docs", include_in_schema=False)
    async def docs_page() -> Response:
        return _page("docs.html", script="swagger/swagger-ui-bundle.js")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(
            STATIC / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    _add_event_schema(app)
    # the last added runs first: headers on every answer (refusals too), then the body's
    # size, the client's rate (a live feed's open counts), the live feeds an address holds
    app.add_middleware(LiveLimit, per_address=settings.max_live_per_address, paths=live.SSE_PATHS)
    app.add_middleware(
        RateLimit,
        rate_per_s=settings.rate_per_s,
        burst=settings.rate_burst,
        presented=presented,
        identify=identity,
        max_keys=settings.max_rate_keys,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, image_origin=_origin(settings.tiles_url))
    return app


def _page(name: str, script: str = "public.js") -> Response:
    """A page, once its scripts are built (`npm ci && npm run build` in web/)."""
    if not (STATIC / "dist" / script).exists():
        return HTMLResponse(
            "<!doctype html><title>airwarn</title><p>The pages' scripts are not built yet: run "
            "<code>npm ci --prefix web && npm run build --prefix web</code> in the airwarn "
            "folder, then reload. The API works without them: its description is at "
            "<a href=/openapi.json>/openapi.json</a>.</p>",
            status_code=503,
        )
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


def _add_event_schema(app: FastAPI) -> None:
    """Publish Contract v1's event schema (from the msgspec types) in the OpenAPI document."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        (event,), components = msgspec.json.schema_components(
            [Event], ref_template="#/components/schemas/{name}"
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(components)
        schemas["Event"] = event
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _origin(url: str | None) -> str | None:
    """scheme://host[:port] of a URL template such as a tile service's, for the pages' policy."""
    if not url:
        return None
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AirwarnError(
            f"the tile service must be an http(s) URL template such as "
            f"https://tile.example.org/{{z}}/{{x}}/{{y}}.png, not {url!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"
