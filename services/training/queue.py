"""Send a retraining request to the training worker's queue. Light on purpose (Celery and the contract
only): the monitoring worker and `credit model retrain` call it without importing the training stack."""

from celery import Celery
from kombu.exceptions import OperationalError

from services.contracts.training import REQUEST_FIELD, RETRAIN_TASK, TRAINING_QUEUE, RetrainRequest, Trigger


class QueueUnavailable(RuntimeError):
    """The broker (REDIS_URL) cannot be reached; the message names it."""


def enqueue(app: Celery, request: RetrainRequest) -> str:
    """Queue `request` on the broker of `app` (any Celery app on the platform's Redis); returns the job id."""
    sent = app.send_task(
        RETRAIN_TASK, kwargs={REQUEST_FIELD: request.model_dump(mode="json")}, queue=TRAINING_QUEUE
    )
    return str(sent.id)


def request_manual(redis_url: str, reason: str, by: str) -> tuple[str, RetrainRequest]:
    """A person's request (`credit model retrain`, `credit train --queue`); returns (job id, request)."""
    if not reason.strip():
        raise ValueError("the reason (--note) must not be empty")
    request = RetrainRequest(trigger=Trigger.MANUAL, reason=reason.strip(), requested_by=by)
    app = Celery("training-client", broker=redis_url)
    app.conf.update(task_serializer="json", broker_connection_retry_on_startup=False)
    try:
        return enqueue(app, request), request
    except OperationalError as error:
        raise QueueUnavailable(
            f"the training queue's Redis at {redis_url} is not reachable: {error}"
        ) from None
    finally:
        app.close()


def queued_message(job: str, request: RetrainRequest) -> str:
    return (
        f"retraining queued (job {job}, requested by {request.requested_by}): the training worker registers "
        f"a challenger authored {request.author} with its promotion report; promoting it still needs "
        "`credit model approve` by a person and `credit model promote`"
    )
