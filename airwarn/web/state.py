"""What the routes reach through the app, typed by its port (`airwarn.ports`).

`create_app` puts them on `app.state`; a route asks here rather than reaching into the
service: the writer it writes through (the service, or the bus's writer on an edge), the
service's state it shows (`view`), the decision log it reads, and the clock it stamps
requests with; and `written`, what a write answers when the bus holds it (`Queued`, 202).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from fastapi.responses import JSONResponse

from airwarn.answers import Answer, Queued

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import HTTPConnection

    from airwarn.ports import Clock, DecisionLog, ServiceView, Writer

AnswerT = TypeVar("AnswerT", bound=Answer)


def writer(request: HTTPConnection) -> Writer:
    """Where this request's writes go."""
    found: Writer = request.app.state.writer
    return found


def view(app: Starlette) -> ServiceView:
    """The service's state, read."""
    found: ServiceView = app.state.view
    return found


def decision_log(app: Starlette) -> DecisionLog:
    """The committed record, read."""
    found: DecisionLog = app.state.log
    return found


def written(answer: AnswerT | Queued) -> AnswerT | JSONResponse:
    """What a write answers: the writer's answer, or 202 when the bus holds the write for an
    engine that has not answered yet (`Queued`)."""
    if isinstance(answer, Queued):
        return JSONResponse(answer.to_wire(), status_code=202)
    return answer


def now_ms(request: HTTPConnection) -> int:
    """The time a request is taken at, from the app's clock."""
    clock: Clock = request.app.state.clock
    return clock.now_ms()
