"""GET /experiments/{id}/events and GET /studies/{id}/events: epochs and statuses as
Server-Sent Events as they land in SQL (see service.py)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.core.deps import ExperimentDep, StudyDep
from api.core.schemas import NOT_FOUND
from api.events.hub import EventHub
from api.events.reads import Cursor
from api.events.service import decode_cursor, experiment_events, study_events

router = APIRouter()


def hub_of(request: Request) -> EventHub:
    state = request.app.state
    if not hasattr(state, "event_hub"):
        state.event_hub = EventHub()
    hub: EventHub = state.event_hub
    return hub


@router.get(
    "/experiments/{experiment_id}/events",
    response_class=EventSourceResponse,
    responses=NOT_FOUND,
    tags=["experiments"],
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


def study_cursor(
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=24_000,
            description="Set by EventSource on a reconnect: each run's last epoch, "
            "as the events' ids carry it (`12:40,13:38`)",
        ),
    ] = None,
) -> Cursor:
    # A dependency, so a bad id is a 422 before the stream starts, not a broken stream.
    return decode_cursor(last_event_id)


@router.get(
    "/studies/{study_id}/events",
    response_class=EventSourceResponse,
    responses=NOT_FOUND,
    tags=["studies"],
    summary="Live events of every run of a study: epochs, status changes, the end",
)
async def watch_study(
    study: StudyDep, request: Request, cursor: Annotated[Cursor, Depends(study_cursor)]
) -> AsyncIterator[ServerSentEvent]:
    """A `text/event-stream`: first a `status` event per run (`experiment_id`, `variant`,
    `repeat`, `status`, `current_epoch`, `epochs_total`, `error`) and again when one
    changes; an `epoch` event per recorded epoch of any run (`data`: the history row with
    its `experiment_id`; `id`: where every run is, so a reconnect with `Last-Event-ID` gets
    every epoch after it, none twice); when every run is final, an `end` event with the
    study's status and its runs by status, and the stream ends."""
    async for event in study_events(hub_of(request), study.id, cursor):
        yield event
