"""GET /experiments/{id}/events: a running experiment's epochs and status as Server-Sent
Events (see service.py)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.core.deps import ExperimentDep
from api.core.schemas import NOT_FOUND
from api.events.service import EventHub, experiment_events

router = APIRouter(prefix="/experiments", tags=["experiments"])


def hub_of(request: Request) -> EventHub:
    state = request.app.state
    if not hasattr(state, "event_hub"):
        state.event_hub = EventHub()
    hub: EventHub = state.event_hub
    return hub


@router.get(
    "/{experiment_id}/events",
    response_class=EventSourceResponse,
    responses=NOT_FOUND,
    summary="Live events: each epoch as it is recorded, status changes, the end",
)
async def watch_experiment(
    experiment: ExperimentDep,
    request: Request,
    after_epoch: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Only epochs after this one")
    ] = 0,
    last_event_id: Annotated[
        int | None,
        Header(ge=0, le=2**31 - 1, description="Set by EventSource on a reconnect: the last epoch"),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """A `text/event-stream`: an `epoch` event per recorded epoch (`id`: the epoch; `data`:
    the history row), a `status` event when the status changes (and first), then an `end`
    event with the final status, and the stream ends. A client that reconnects with
    `Last-Event-ID` (EventSource does) gets every epoch after it, none twice. Keep-alive
    comments every 15 s."""
    after = last_event_id if last_event_id is not None else after_epoch
    async for event in experiment_events(hub_of(request), experiment.id, after):
        yield event
