"""The `credit-scoring` registered model: versions carry their threshold, feature-set hash, metrics,
author and approval as tags; aliases (`challenger` for new versions, `champion` for the one serving)
route traffic. Moving `champion` is governed by services/model/lifecycle.py (gates, four eyes, audit)."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.model.model import ScoringModel

MODEL_NAME = "credit-scoring"
CHALLENGER = "challenger"
CHAMPION = "champion"
TAGGED_METRICS = ("roc_auc", "cost_per_app", "brier", "ece", "approval_rate", "ks")


class RegistryError(RuntimeError):
    """A version or alias that does not exist; the message says which."""


@dataclass(frozen=True)
class VersionSummary:
    version: str
    aliases: tuple[str, ...]
    tags: dict[str, str]


def tag_new_version(
    version: str,
    run_id: str,
    model: ScoringModel,
    metrics: tuple[Mapping[str, float], Mapping[str, float]],
    author: str,
) -> None:
    """Tags travel with the version (threshold, hash, validation and test metrics, who trained it); the new
    version becomes the challenger."""
    validation, test = metrics
    client = MlflowClient()
    tags = {
        "run_id": run_id,
        "author": author,
        "threshold": repr(model.threshold),
        "feature_set_hash": model.feature_set_hash,
        **{f"val_{k}": f"{validation[k]:.6f}" for k in TAGGED_METRICS},
        **{f"test_{k}": f"{test[k]:.6f}" for k in TAGGED_METRICS},
    }
    if model.review is not None:
        tags.update({f"review_{k}": repr(v) for k, v in asdict(model.review).items()})
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)


def set_tags(version: str, tags: dict[str, str]) -> None:
    client = MlflowClient()
    _version(client, version)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)


def version_tags(version: str) -> dict[str, str]:
    return dict(_version(MlflowClient(), version).tags)


def set_champion(version: str) -> str | None:
    """Point `champion` at `version` with no checks (lifecycle.promote and rollback check, then call
    this; tests set up serving with it); returns the previous champion's version, None if none."""
    client = MlflowClient()
    _version(client, version)
    current = _alias_version(client, CHAMPION)
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    return None if current is None else str(current.version)


def list_versions() -> list[VersionSummary]:
    """Newest first. Aliases come from the registered model: version search results leave them out."""
    client = MlflowClient()
    try:
        aliases = client.get_registered_model(MODEL_NAME).aliases
    except MlflowException:
        return []
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    summaries = [
        VersionSummary(
            str(v.version), tuple(a for a, n in aliases.items() if str(n) == str(v.version)), dict(v.tags)
        )
        for v in versions
    ]
    return sorted(summaries, key=lambda s: int(s.version), reverse=True)


def _version(client: MlflowClient, version: str) -> mlflow.entities.model_registry.ModelVersion:
    try:
        return client.get_model_version(MODEL_NAME, version)
    except MlflowException:
        raise RegistryError(f"{MODEL_NAME} has no version {version}") from None


def _alias_version(client: MlflowClient, alias: str) -> mlflow.entities.model_registry.ModelVersion | None:
    try:
        return client.get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None
