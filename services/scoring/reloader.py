"""Follow the registry aliases: load the version behind `champion` (and `challenger`) and swap it in.

Runs as one background task: each poll reads both aliases in one registry call from a worker thread; a
version that moved is downloaded, checked against the features service's feature-set hash, warmed up,
and only then assigned to the holder. A version that fails is logged and retried after
RETRY_FAILED_SECONDS; whatever was serving keeps serving.
"""

import asyncio
import logging
import time

import httpx
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from starlette.concurrency import run_in_threadpool

from services.common.logging import log_fields
from services.contracts.features import FeatureSchema
from services.model import model_store
from services.model.registry import MODEL_NAME
from services.scoring.metrics import RELOAD_FAILURES, RELOADS, show_model
from services.scoring.serving import LoadedModel, ModelHolder
from services.scoring.settings import ScoringSettings

logger = logging.getLogger("services.scoring.reloader")
RETRY_FAILED_SECONDS = 60.0


class ModelRejected(RuntimeError):
    """The version loads but must not serve (feature-set hash or feature count mismatch)."""


def features_schema(features_url: str) -> FeatureSchema:
    """The feature set (hash and names) the features service computes vectors with."""
    response = httpx.get(f"{features_url.rstrip('/')}/features/schema", timeout=5.0)
    response.raise_for_status()
    return FeatureSchema.model_validate_json(response.content)


def load_checked(version: str, alias: str, features_url: str, client: MlflowClient) -> LoadedModel:
    """Download `version`, refuse it if it does not fit the features being served, warm it up."""
    model = model_store.load_version(version, client)
    schema = features_schema(features_url)
    served_hash = schema.feature_set_hash
    if model.feature_set_hash != served_hash:
        raise ModelRejected(
            f"version {version} was trained on feature set {model.feature_set_hash} but the features "
            f"service at {features_url} serves {served_hash}; retrain on the current features"
        )
    if model.booster.num_feature() != len(model.feature_names):
        raise ModelRejected(
            f"version {version}: booster expects {model.booster.num_feature()} features, "
            f"model.json lists {len(model.feature_names)}"
        )
    served = frozenset(f.name for f in schema.features)  # a model may use a subset of them
    tags = client.get_model_version(MODEL_NAME, version).tags
    loaded = LoadedModel(version, alias, model, _float_tags(tags), served)
    loaded.predict_pd(np.zeros((1, len(model.feature_names))))  # first call pays LightGBM's set-up cost
    return loaded


def _float_tags(tags: dict[str, str]) -> dict[str, float]:
    """Tag values that are numbers (threshold, val_*/test_* metrics); run ids and the like are left out."""
    metrics = {}
    for key, value in tags.items():
        try:
            metrics[key] = float(value)
        except ValueError:
            continue
    return metrics


class AliasWatcher:
    """Keeps `holder` in step with the champion and challenger aliases."""

    def __init__(self, settings: ScoringSettings, holder: ModelHolder) -> None:
        self.settings, self.holder = settings, holder
        self.client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
        self.failed: dict[str, float] = {}  # version -> when it last failed to load
        self.warned: set[str] = set()

    async def run(self) -> None:
        """Poll forever; cancelled at shutdown."""
        while True:
            try:
                await run_in_threadpool(self.poll)
            except Exception:  # a registry outage must not end the watcher
                logger.exception("alias poll failed; retrying in %ss", self.settings.reload_interval_s)
            await asyncio.sleep(self.settings.reload_interval_s)

    def poll(self) -> None:
        """One look at both aliases (blocking: runs in a worker thread)."""
        aliases = self._aliases()
        champion = aliases.get(self.settings.model_alias)
        if champion is None:
            self._warn_once(f"no version of {MODEL_NAME} has alias '{self.settings.model_alias}'")
        elif self._needs_load(self.holder.champion, champion):
            self._swap("champion", champion, self.settings.model_alias)
        challenger = aliases.get(self.settings.challenger_alias)
        current = self.holder.champion.version if self.holder.champion else None
        if challenger is None or challenger == current:
            self._clear_challenger()
        elif self._needs_load(self.holder.challenger, challenger):
            self._swap("challenger", challenger, self.settings.challenger_alias)

    def _aliases(self) -> dict[str, str]:
        """Alias -> version, in one registry call (a poll runs every few seconds in a thread that holds the
        GIL while it parses answers, so it stays short); empty before the model is first registered."""
        try:
            return {
                alias: str(version)
                for alias, version in self.client.get_registered_model(MODEL_NAME).aliases.items()
            }
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise

    def _warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            logger.warning(message)

    def _needs_load(self, loaded: LoadedModel | None, version: str) -> bool:
        if loaded is not None and loaded.version == version:
            return False
        failed_at = self.failed.get(version)
        return failed_at is None or time.monotonic() - failed_at > RETRY_FAILED_SECONDS

    def _swap(self, role: str, version: str, alias: str) -> None:
        try:
            loaded = load_checked(version, alias, self.settings.features_url, self.client)
        except Exception as error:  # any failure must leave the serving model in place
            self.failed[version] = time.monotonic()
            RELOAD_FAILURES.labels(role).inc()
            logger.error(
                "cannot load %s version %s (%s@%s): %s",
                MODEL_NAME,
                version,
                MODEL_NAME,
                alias,
                error,
                extra=log_fields(role=role, version=version, error_type=type(error).__name__),
            )
            return
        previous = getattr(self.holder, role)
        setattr(self.holder, role, loaded)
        self.failed.pop(version, None)
        RELOADS.labels(role).inc()
        show_model(role, loaded)
        logger.info(
            "now serving %s version %s as %s (was %s)",
            MODEL_NAME,
            version,
            role,
            previous.version if previous else "none",
            extra=log_fields(role=role, version=version),
        )

    def _clear_challenger(self) -> None:
        if self.holder.challenger is not None:
            logger.info("challenger version %s retired", self.holder.challenger.version)
            self.holder.challenger = None
            show_model("challenger", None)
