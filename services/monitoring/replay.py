"""Replay logged decisions: rescore the stored inputs with the logged model version from the registry and
compare PD (to 1e-12) and outcome (approved / review / refused, the review band and unusual-input rule
included), naming the reason of any mismatch.

A model version's artifacts are digested (SHA-256 of the files of the ScoringModel as loaded, re-saved)
when monitoring first logs one of its decisions (`record_digest`); replay compares that digest with the
artifacts the registry holds now, so a model replaced under the same version number is named as such.
"""

import hashlib
import logging
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.extensions
from mlflow import MlflowClient

from services.model.model import ScoringModel
from services.model.model_store import ModelVersionNotFound, load_version

PD_TOLERANCE = 1e-12
logger = logging.getLogger(__name__)


def model_digest(model: ScoringModel) -> str:
    """What the model computes, independent of how its files were written: its files as saved now."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp))
        digest = hashlib.sha256()
        for path in sorted(Path(tmp).iterdir()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


def record_digest(conn: psycopg2.extensions.connection, version: str, client: MlflowClient) -> None:
    """Digest `version` from the registry unless already recorded (the first record stands)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM model_digests WHERE model_version = %s", (version,))
        if cur.fetchone() is None:
            digest = model_digest(load_version(version, client))
            cur.execute(
                "INSERT INTO model_digests (model_version, digest) VALUES (%s, %s)"
                " ON CONFLICT (model_version) DO NOTHING",
                (version, digest),
            )
    conn.commit()


class DigestRecorder:
    """Records the digest of each model version the consumer logs, in a daemon thread so the log's write
    path never waits for MLflow; a version that fails (registry down) is retried when next seen."""

    def __init__(self, database_url: str, tracking_uri: str) -> None:
        self.database_url = database_url
        self.client = MlflowClient(tracking_uri)
        self._queue: queue.Queue[str] = queue.Queue()
        self._done: set[str] = set()
        self._queued: set[str] = set()
        threading.Thread(target=self._work, name="model-digests", daemon=True).start()

    def saw(self, versions: set[str]) -> None:
        for version in versions - self._done - self._queued:
            self._queued.add(version)
            self._queue.put(version)

    def _work(self) -> None:
        while True:
            version = self._queue.get()
            try:
                with psycopg2.connect(self.database_url) as conn:
                    record_digest(conn, version, self.client)
                self._done.add(version)
            except Exception as error:  # best effort: the decision is stored; replay says "no digest"
                logger.warning("cannot digest model version %s: %s", version, error)
            finally:
                self._queued.discard(version)


@dataclass(frozen=True)
class Replayed:
    request_id: str
    decided_at: datetime
    model_version: str
    logged_pd: float
    logged_decision: str
    pd: float | None = None
    decision: str | None = None
    reasons: tuple[str, ...] = ()  # empty: an exact replay
    notes: tuple[str, ...] = ()  # said, but not a mismatch (e.g. no digest recorded for an old version)

    @property
    def matched(self) -> bool:
        return not self.reasons


@dataclass
class Models:
    """Registry versions loaded once per replay run, with their digests."""

    client: MlflowClient
    loaded: dict[str, tuple[ScoringModel, str] | None] = field(default_factory=dict)

    def get(self, version: str) -> tuple[ScoringModel, str] | None:
        if version not in self.loaded:
            try:
                model = load_version(version, self.client)
                self.loaded[version] = (model, model_digest(model))
            except ModelVersionNotFound:
                self.loaded[version] = None
        return self.loaded[version]


_SELECT = (
    "SELECT d.request_id, d.decided_at, d.model_version, n.names, d.feature_values, d.pd, d.decision,"
    " d.threshold, d.review_low, d.review_high, m.digest, m.recorded_at FROM decision_log d"
    " JOIN feature_name_sets n USING (names_hash) LEFT JOIN model_digests m USING (model_version)"
)


def replay_one(conn: psycopg2.extensions.connection, request_id: str, models: Models) -> Replayed | None:
    """None when no decision has this request id."""
    with conn.cursor() as cur:
        cur.execute(_SELECT + " WHERE d.request_id = %s", (request_id,))
        row = cur.fetchone()
    return None if row is None else _replay(row, models)


def replay_window(
    conn: psycopg2.extensions.connection, since: datetime, until: datetime, models: Models
) -> Iterator[Replayed]:
    """Every decision with since <= decided_at < until, in time order."""
    with conn.cursor(name="replay_window") as cur:
        cur.itersize = 1000
        cur.execute(
            _SELECT + " WHERE d.decided_at >= %s AND d.decided_at < %s ORDER BY d.decided_at, d.request_id",
            (since, until),
        )
        for row in cur:
            yield _replay(row, models)


def _replay(row: tuple, models: Models) -> Replayed:
    (request_id, decided_at, version, names, values, logged_pd, logged_decision, threshold, low, high,
     recorded, recorded_at) = row  # fmt: skip
    logged = Replayed(request_id, decided_at, version, logged_pd, logged_decision)
    found = models.get(version)
    if found is None:
        return replace(logged, reasons=(f"model version {version} is missing from the registry",))
    model, digest = found
    reasons, notes = [], []
    if recorded is None:
        notes.append(f"no artifact digest was recorded for version {version}")
    elif recorded != digest:
        reasons.append(
            f"artifacts changed: version {version} digest {recorded[:12]} recorded {recorded_at:%Y-%m-%d},"
            f" {digest[:12]} in the registry now"
        )
    if not set(model.feature_names) <= set(names):  # a model may use a subset of the logged vector
        missing = sorted(set(model.feature_names) - set(names))
        unknown = sorted(set(names) - set(model.feature_names))
        reasons.append(
            f"feature names changed: the model needs {len(missing)} not logged ({', '.join(missing[:5])}),"
            f" {len(unknown)} logged are unknown to it ({', '.join(unknown[:5])})"
        )
        return replace(logged, reasons=tuple(reasons), notes=tuple(notes))
    position = {name: i for i, name in enumerate(names)}
    x = np.asarray(values, dtype=np.float64)[[position[n] for n in model.feature_names]][None, :]
    pd_values, outcomes = model.decisions(x)
    pd, decision = float(pd_values[0]), str(outcomes[0])
    if threshold != model.threshold:
        reasons.append(f"threshold differs: logged {threshold!r}, the version's is {model.threshold!r}")
    band = None if model.review is None else (model.review.low, model.review.high)
    if (None if low is None else (low, high)) != band:
        reasons.append(f"review band differs: logged {(low, high)}, the version's is {band}")
    if abs(pd - logged_pd) > PD_TOLERANCE:
        reasons.append(f"PD differs by {pd - logged_pd:+.3g} (logged {logged_pd!r}, replayed {pd!r})")
    if decision != logged_decision:
        reasons.append(f"decision differs: logged {logged_decision}, replayed {decision}")
    return replace(logged, pd=pd, decision=decision, reasons=tuple(reasons), notes=tuple(notes))
