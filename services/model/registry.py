"""The `credit-scoring` registered model: versions carry their threshold, feature-set hash and metrics
as tags; aliases (`challenger` for new versions, `champion` for the one serving) route traffic."""

from dataclasses import asdict, dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from services.training.pipeline import TrainedModel

MODEL_NAME = "credit-scoring"
CHALLENGER = "challenger"
CHAMPION = "champion"
AUC_TOLERANCE = 0.005
TAGGED_METRICS = ("roc_auc", "cost_per_app", "brier", "ece", "approval_rate", "ks")


class PromotionRefused(RuntimeError):
    """The candidate is worse than the champion; `--force` overrides."""


class RegistryError(RuntimeError):
    """A version or alias that does not exist; the message says which."""


@dataclass(frozen=True)
class VersionSummary:
    version: str
    aliases: tuple[str, ...]
    tags: dict[str, str]


def tag_new_version(version: str, run_id: str, trained: TrainedModel) -> None:
    """Tags travel with the version (threshold, hash, metrics); the new version becomes the challenger."""
    client = MlflowClient()
    tags = {
        "run_id": run_id,
        "threshold": repr(trained.model.threshold),
        "feature_set_hash": trained.model.feature_set_hash,
        **{f"val_{k}": f"{trained.validation[k]:.6f}" for k in TAGGED_METRICS},
        **{f"test_{k}": f"{trained.test[k]:.6f}" for k in TAGGED_METRICS},
    }
    if trained.model.review is not None:
        tags.update({f"review_{k}": repr(v) for k, v in asdict(trained.model.review).items()})
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)


def promote(version: str, force: bool, tolerance: float = AUC_TOLERANCE) -> str | None:
    """Move `champion` to `version`; returns the previous champion's version (None if there was none)."""
    client = MlflowClient()
    candidate = _version(client, version)
    current = _alias_version(client, CHAMPION)
    if current is not None and not force:
        candidate_auc = float(candidate.tags["val_roc_auc"])
        champion_auc = float(current.tags["val_roc_auc"])
        if candidate_auc < champion_auc - tolerance:
            raise PromotionRefused(
                f"version {version} has validation AUC {candidate_auc:.4f}, worse than champion version "
                f"{current.version} ({champion_auc:.4f}) by more than {tolerance}; "
                "use --force to promote anyway"
            )
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
