"""Models trained the way `credit train` trains one, with the input profile training stores, and the raw
tables of the applications to decide: on synthetic clients (held-out applications with their history) for
the worker's recourse tests and the recourse bench, on the real application sample (no history joins it)
for the platform's recourse test and the bench's real-data share."""

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from loopback.trained import Trained, train_on
from services.data.synth import generate
from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables, spec_for
from services.feature_store.files import labelled_features, read_table
from services.model.policy import InputProfile
from services.training.pipeline import CATEGORICAL

CLIENTS = 2000


@dataclass(frozen=True)
class Applicants:
    trained: Trained
    raw: RawTables  # the applications to decide and every history row


def _with_profile(trained: Trained) -> Trained:
    gain = trained.model.booster.feature_importance("gain")
    profile = InputProfile.learn(trained.x, NAMES, CATEGORICAL, gain)  # as `credit train` stores it
    return replace(trained, model=replace(trained.model, profile=profile))


def raw_tables(application: Path, folder: Path) -> RawTables:
    """An application CSV and the Kaggle history CSVs of `folder`, typed as the feature code reads them."""
    history = {table: read_table(folder / f"{spec_for(table).name}.csv", table) for table in HISTORY_TABLES}
    return RawTables(application=read_table(application, "application"), **history)


def trained_on_synthetic(out: Path, seed: int = 23, clients: int = CLIENTS) -> Applicants:
    """Trained on synthetic clients; the applicants are the held-out ones (application_test)."""
    generate(clients, seed=seed, out=out)
    trained = _with_profile(train_on(labelled_features(out / "application_train.csv", out)))
    return Applicants(trained, raw_tables(out / "application_test.csv", out))


def trained_on_real(real_data_dir: Path, out: Path) -> Applicants:
    """Trained on the 5,000 real applications, which are also the applicants: the real history heads do not
    join them, so every vector is application-only, in training as in a request with empty history."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(real_data_dir / "application_train_sample.csv", out / "application_train.csv")
    for table in HISTORY_TABLES:
        name = f"{spec_for(table).name}.csv"
        shutil.copy(real_data_dir / "heads" / name, out / name)
    trained = _with_profile(train_on(labelled_features(out / "application_train.csv", out)))
    return Applicants(trained, raw_tables(out / "application_train.csv", out))


def unusual(trained: Trained, features: pl.DataFrame) -> np.ndarray:
    """The scoring service's unusual-input flag of each row."""
    names = trained.model.feature_names
    rows = features.select(names).to_numpy()
    return np.array(
        [bool(trained.model.profile.warnings(dict(zip(names, row.tolist(), strict=True)))) for row in rows]
    )


def declined(
    trained: Trained, raw: RawTables, outcomes: tuple[str, ...] = ("refused", "review")
) -> list[int]:
    """Ids of the held-out applications whose outcome is one of `outcomes`, most refused first."""
    features = compute_features(raw)
    pds = trained.model.predict_pd(features.select(trained.model.feature_names).to_numpy())
    order = np.argsort(-pds)
    ids = features["sk_id_curr"].to_numpy()[order]
    decided = trained.model.outcome(pds[order], unusual(trained, features)[order])
    return [int(i) for i, outcome in zip(ids, decided, strict=True) if outcome in outcomes]


def one_client(raw: RawTables, client_id: int) -> RawTables:
    bureau = raw.bureau.filter(pl.col("sk_id_curr") == client_id)
    frames = {
        table: getattr(raw, table).filter(
            pl.col("sk_id_bureau").is_in(bureau["sk_id_bureau"].implode())
            if table == "bureau_balance"
            else pl.col("sk_id_curr") == client_id
        )
        for table in ("application", *HISTORY_TABLES)
    }
    return RawTables(**frames)


def kaggle_rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    """Rows by their Kaggle (upper-case) names, nulls left out, as a front-office app sends them."""
    return [
        {key.upper(): value for key, value in row.items() if value is not None} for row in frame.to_dicts()
    ]
