"""Live feeds of decisions: Server-Sent Events and WebSocket, resumable, with a heartbeat.

Each decision goes out with its `seq` as the event id. A client that reconnects with
`Last-Event-ID` (or `?since=`) first gets what it missed from the log, then the live flow, with
nothing repeated and nothing skipped. A `heartbeat` every few seconds carries the server time
and the newest seq, so a client can tell a dead feed from a quiet sky. A `cap` event names each
CAP message as it is issued (alerts, updates, all-clears, cancellations).

The feeds are public. A client may still open one with its token (`Authorization: Bearer`, as
integrators whose limits follow their identity do); such a stream is bound to the token, is
refused 401 if the token is unknown, and is closed within a second of the token's revocation
(SSE: the response ends; WebSocket: close code 1008).

A process that stops ends every feed at once (`Hub.close`; WebSocket: close code 1001), so no
client holds the stop open; clients reconnect, to another process, with their last id.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from airwarn.contract import format_time
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK
from airwarn.web import state
from airwarn.web.auth import bearer_of, client_of
from airwarn.web.errors import ERRORS, MAX_SEQ
from airwarn.web.hub import BEAT, CLOSED, Frame, Hub, sse_event, ws_text

router = APIRouter(tags=["live"], responses=ERRORS)
PAGE = 1000
RECHECK = Frame([], [])  # a token was revoked somewhere: a stream bound to one checks it
SSE_PATHS = ("/v1/stream",)  # held open: counted per address (`airwarn.web.limits.LiveLimit`)


class TokenRevoked(AirwarnError):
    """The token a stream was opened with no longer stands."""


def recheck_token_streams(app: Any) -> None:
    """Every stream bound to a token checks it again (after a revocation anywhere)."""
    for queue in list(app.state.token_streams):
        queue.put_nowait(RECHECK)


async def _frames(
    app: Any, since: int | None, sse: bool, token: str | None = None
) -> AsyncIterator[bytes | list[str]]:
    """The feed, encoded for SSE (bytes) or WebSocket (lists of texts): backlog after `since`,
    then live, with heartbeats. Bound to `token` if given: raises TokenRevoked when it goes."""
    hub: Hub = app.state.hub
    heartbeat_s: float = app.state.settings.heartbeat_s
    queue = hub.subscribe()
    if token is not None:
        app.state.token_streams.add(queue)
    try:
        last = hub.last_seq if since is None else since
        if hub.fresh():  # a process cut off from its leader says nothing it cannot vouch for
            yield _heartbeat(hub, heartbeat_s, sse)
        if since is not None:
            while True:
                page = await run_in_threadpool(state.decision_log(app).decisions, last, PAGE)
                if page:
                    if sse:
                        yield b"".join(sse_event("decision", body, seq) for seq, body in page)
                    else:
                        yield [ws_text("decision", body, seq) for seq, body in page]
                    last = page[-1][0]
                if len(page) < PAGE:
                    break
        while True:
            frame = await queue.get()
            if frame is BEAT:
                yield _heartbeat(hub, heartbeat_s, sse)
                continue
            if frame is CLOSED:
                return
            if frame is RECHECK:
                await _still_stands(app, token)
                continue
            yield frame.sse_after(last) if sse else frame.ws_after(last)
            if frame.decisions:
                last = max(last, frame.decisions[-1][0])
    finally:
        hub.unsubscribe(queue)
        app.state.token_streams.discard(queue)


async def _still_stands(app: Any, token: str | None) -> None:
    if token is None:
        return
    try:
        client = await client_of(app, token)
    except sa.exc.SQLAlchemyError:
        client = None  # cannot tell: close; the client resumes from its last id, losing nothing
    if client is None:
        raise TokenRevoked


def _heartbeat(hub: Hub, every_s: float, sse: bool) -> bytes | list[str]:
    now_ms = WALL_CLOCK.now_ms()
    data = json.dumps({"t": format_time(now_ms), "seq": hub.last_seq, "every_s": every_s})
    return sse_event("heartbeat", data) if sse else [ws_text("heartbeat", data)]


def _start(since: int | None, last_event_id: str | None) -> int | None:
    """Where a feed resumes: the browser's Last-Event-ID wins over `?since=`; an id that is not
    a decision seq (not digits, or past 64 bits) is ignored, as EventSource clients expect."""
    text = (last_event_id or "").strip()
    if text.isascii() and text.isdigit() and int(text) <= MAX_SEQ:
        return int(text)
    return since


@router.get(
    "/v1/stream",
    summary="Live decisions as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`decision`, `cap` and `heartbeat` events",
        }
    },
)
async def stream(
    request: Request,
    since: int | None = Query(
        None,
        ge=0,
        le=MAX_SEQ,
        description=("resume after this decision seq (0: from the start); default: only new"),
    ),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=20),
) -> StreamingResponse:
    start = _start(since, last_event_id)
    # a token that does not stand was refused already, as on every route (auth.py)
    token = bearer_of(request.headers)

    async def body() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        try:
            async for chunk in _frames(request.app, start, sse=True, token=token):
                if chunk:
                    yield chunk  # type: ignore[misc]
        except TokenRevoked:
            return

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.websocket("/v1/ws")
async def websocket(socket: WebSocket, since: int | None = Query(None, ge=0, le=MAX_SEQ)) -> None:
    """The same feed over WebSocket: JSON messages `{"event", "id"?, "data"}`."""
    token = bearer_of(socket.headers)
    if token is not None and await client_of(socket.app, token) is None:
        await socket.close(code=1008, reason="unknown or revoked token")
        return
    await socket.accept()
    try:
        async for texts in _frames(socket.app, since, sse=False, token=token):
            for text in texts:
                await socket.send_text(text)  # type: ignore[arg-type]
    except WebSocketDisconnect:
        return
    except TokenRevoked:
        await socket.close(code=1008, reason="token revoked")
        return
    if socket.app.state.hub.closed:  # 1001: going away; the client reconnects elsewhere
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await socket.close(code=1001, reason="server stopping")
