"""The explainer's task message: what the gateway's client queues and the worker reads back."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One explanation task: its message's arguments and how often it was retried."""

    explanation_id: str
    version: str
    features: dict[str, float | None]
    client_id: int | None
    retries: int = 0
    # The raw application scored (Kaggle field names) and its history rows, for the recourse offers of a
    # new applicant; None for a known client (its rows are read from Postgres by client_id).
    application: dict[str, object] | None = None
    history: dict[str, list[dict[str, object]]] | None = None

    def args(self) -> list[object]:
        """The task's arguments, as the client sends them."""
        return [self.explanation_id, self.version, self.features, self.client_id, self.application,
                self.history]  # fmt: skip
