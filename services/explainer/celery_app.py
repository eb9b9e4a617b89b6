"""The Celery app: Redis (REDIS_URL) as broker, tuned so no task is lost with a worker.

Worker: `celery -A services.explainer.celery_app worker --pool solo --concurrency 1` (docs/explainer.md).
"""

from celery import Celery
from celery.signals import worker_init, worker_process_init
from threadpoolctl import threadpool_limits

from services.explainer.settings import ExplainerSettings
from services.feature_definitions.catalog import for_few_rows

EXPLAIN_TASK = "explainer.explain"
IMPORTANCE_TASK = "explainer.importance"


def create_app(settings: ExplainerSettings) -> Celery:
    """acks_late + reject_on_worker_lost: a task is acknowledged only once finished, so a killed worker's
    task stays in Redis and is redelivered after the visibility timeout."""
    app = Celery(
        "explainer",
        broker=settings.redis_url,
        include=["services.explainer.tasks"],
    )
    visibility = settings.visibility_timeout_s
    app.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        # Status and results live in our own Redis records (cache.py), read by id: Celery's result
        # backend would only add a write per task.
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            # Sweep for abandoned tasks often enough that redelivery follows the visibility timeout closely.
            "unacked_restore_interval": max(1, visibility // 2),
            "unacked_restore_throttle": 1,
            # No task priorities here: one Redis list per queue, not four to poll (kombu's default steps).
            "priority_steps": [0],
            # Bodies as plain JSON text inside kombu's JSON envelope, not base64 (kombu's default): a body
            # is ~500 named feature values, and base64 makes it a third larger and costs a decode per task.
            "body_encoding": None,
        },
        worker_hijack_root_logger=False,
    )
    return app


app = create_app(ExplainerSettings())


@worker_init.connect  # solo pool: the worker's main process runs the tasks
@worker_process_init.connect  # prefork pool: each child runs them
def one_thread_per_process(**_: object) -> None:
    """A worker process is one core's worth of work. LightGBM's default OpenMP team of every core makes
    processes spin against each other on single-row TreeSHAP: measured 10x slower than one thread. Its
    Polars work (recourse candidates) is a few rows at a time."""
    threadpool_limits(limits=1, user_api="openmp")
    for_few_rows()
