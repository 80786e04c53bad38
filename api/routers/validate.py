"""POST /experiments/validate: a dry run that builds the model without queueing a fit.

The API process never imports TensorFlow (it would cost seconds and hundreds of MB per API
process, and claim GPUs), so the model is built by a worker on the dedicated validate queue
and the answer awaited with a timeout; a queue of its own keeps dry runs from waiting
behind hours-long fits."""

from contextlib import suppress
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from fastapi import APIRouter
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout
from starlette.concurrency import run_in_threadpool

from api import queries
from api.core.deps import OwnerDep, SessionDep, SettingsDep
from api.core.errors import ApiError
from api.core.outage import BROKER, ServerDownError
from api.core.schemas import ErrorRead
from api.schemas import ExperimentCreate, ModelSummaryRead
from broker import door

router = APIRouter(prefix="/experiments", tags=["experiments"])
# A broker or result store lost mid-wait, as opposed to an error the worker sent back.
BROKER_DOWN = (KombuOperationalError, RedisConnectionError, RedisTimeout)


@router.post(
    "/validate",
    response_model=ModelSummaryRead,
    responses={503: {"model": ErrorRead, "description": "No validation worker answered"}},
    summary="Dry run: the layer table, parameters and memory estimate, without queueing",
)
async def validate_experiment(
    body: ExperimentCreate, session: SessionDep, settings: SettingsDep, owner: OwnerDep
) -> dict[str, Any]:
    # Bad shapes or data are a 422 here, with no worker needed.
    input_shape = queries.check_spec(session, body, owner)
    if input_shape is None:
        raise ApiError(422, "dataset", "the dataset's input shape is not known", "unknown_shape")
    spec = body.model_dump(mode="json")
    try:
        # In a thread: while the broker is down a send takes about a second to fail.
        result = await run_in_threadpool(door.send_dry_run, spec, list(input_shape))
    except Exception as exc:  # nothing of the spec is read before the send
        raise ServerDownError(BROKER, _broker_down(exc)) from None
    try:
        summary: dict[str, Any] = await run_in_threadpool(
            result.get, timeout=settings.validate_timeout_seconds, propagate=True
        )
    except CeleryTimeout:
        # Forgetting is cleanup: the filesystem result backend has no file to delete for a
        # task nobody ran, and that must not turn the 503 into a 500.
        with suppress(Exception):
            result.forget()
        raise ServerDownError(
            BROKER,
            f"no validation worker answered within {settings.validate_timeout_seconds:g} s "
            f"(is a worker consuming the '{settings.validate_queue}' queue?)",
        ) from None
    except BROKER_DOWN as exc:  # the broker went down while the worker built the model
        raise ServerDownError(BROKER, _broker_down(exc)) from None
    except Exception as exc:  # the model could not be built: the spec's fault
        raise ApiError(422, "model", f"{type(exc).__name__}: {exc}", "build_failed") from None
    return summary


def _broker_down(exc: Exception) -> str:
    return f"the broker is unreachable ({type(exc).__name__}); try again shortly"
