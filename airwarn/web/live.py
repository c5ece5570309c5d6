"""Live feeds of decisions: Server-Sent Events and WebSocket, resumable, with a heartbeat.

Each decision goes out with its `seq` as the event id. A client that reconnects with
`Last-Event-ID` (or `?since=`) first gets what it missed from the log, then the live flow, with
nothing repeated and nothing skipped. A `heartbeat` every few seconds carries the server time
and the newest seq, so a client can tell a dead feed from a quiet sky. A `cap` event names each
CAP message as it is issued (alerts, updates, all-clears, cancellations).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from airwarn.contract import format_time
from airwarn.web.errors import ERRORS, MAX_SEQ
from airwarn.web.hub import CLOSED, Hub

router = APIRouter(tags=["live"], responses=ERRORS)
PAGE = 1000


async def _items(request_app: Any, since: int | None) -> AsyncIterator[dict[str, Any]]:
    """The feed as SSE-shaped items: backlog after `since`, then live, with heartbeats."""
    hub: Hub = request_app.state.hub
    heartbeat_s: float = request_app.state.settings.heartbeat_s
    queue = hub.subscribe()
    try:
        last = hub.last_seq if since is None else since
        yield _heartbeat(hub)
        if since is not None:
            while True:
                page = await run_in_threadpool(request_app.state.service.log.decisions,
                                               last, PAGE)
                for seq, body in page:
                    yield {"id": str(seq), "event": "decision", "data": body}
                    last = seq
                if len(page) < PAGE:
                    break
        while True:
            try:
                step = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield _heartbeat(hub)
                continue
            if step is CLOSED:
                return
            for seq, body in step.decisions:
                if seq > last:
                    yield {"id": str(seq), "event": "decision", "data": body}
                    last = seq
            for message in step.messages:
                yield {"event": "cap", "data": json.dumps(message)}
    finally:
        hub.unsubscribe(queue)


def _heartbeat(hub: Hub) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    return {"event": "heartbeat",
            "data": json.dumps({"t": format_time(now_ms), "seq": hub.last_seq})}


def _start(since: int | None, last_event_id: str | None) -> int | None:
    """Where a feed resumes: the browser's Last-Event-ID wins over `?since=`; an id that is not
    a decision seq (not digits, or past 64 bits) is ignored, as EventSource clients expect."""
    text = (last_event_id or "").strip()
    if text.isascii() and text.isdigit() and int(text) <= MAX_SEQ:
        return int(text)
    return since


@router.get("/v1/stream", summary="Live decisions as Server-Sent Events",
            response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`decision`, `cap` and `heartbeat` events"}})
async def stream(request: Request,
                 since: int | None = Query(None, ge=0, le=MAX_SEQ, description=(
                     "resume after this decision seq (0: from the start); default: only new")),
                 last_event_id: str | None = Header(None, alias="Last-Event-ID",
                                                    max_length=20)) -> EventSourceResponse:
    start = _start(since, last_event_id)
    return EventSourceResponse(_items(request.app, start), ping=3600,
                               headers={"Cache-Control": "no-store"})


@router.websocket("/v1/ws")
async def websocket(socket: WebSocket, since: int | None = Query(None, ge=0, le=MAX_SEQ)
                    ) -> None:
    """The same feed over WebSocket: JSON messages `{"event", "id"?, "data"}`."""
    await socket.accept()
    try:
        async for item in _items(socket.app, since):
            data = json.loads(item["data"])
            message = {"event": item["event"], "data": data}
            if "id" in item:
                message["id"] = int(item["id"])
            await socket.send_json(message)
    except WebSocketDisconnect:
        return
