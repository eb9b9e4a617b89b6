"""Build services/data/synth/profile.json from the real Home Credit rows (run once, result committed).

The synthetic generator must not read ../shared at run time, so everything it learns from the real
sample lives in this profile: per column its print type (int or float, as pandas wrote it), missing
share, vocabulary with frequencies, quantiles, and the share of the 365243 "no date" sentinel.

Usage: .venv/bin/python scripts/build_synth_profile.py [REAL_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL = REPO.parent / "shared" / "data" / "real"
OUT = REPO / "services" / "data" / "synth" / "profile.json"
SENTINEL = 365243
QUANTILES = 501
# Kaggle values too rare to appear in the 5,000-row sample, with their full-data frequency.
RARE_VALUES = {"CODE_GENDER": {"XNA": 4 / 307_511}}
SOURCES = {
    "application": "application_train_sample.csv",
    "bureau": "heads/bureau.csv",
    "bureau_balance": "heads/bureau_balance.csv",
    "previous_application": "heads/previous_application.csv",
    "POS_CASH_balance": "heads/POS_CASH_balance.csv",
    "installments_payments": "heads/installments_payments.csv",
    "credit_card_balance": "heads/credit_card_balance.csv",
}


def _is_continuous(text: pd.Series) -> bool:
    """Long float tails on most values (EXT_SOURCE_*), not a few float artefacts (0.7959999999999999)."""
    decimals = text.dropna().str.split(".", n=1).str[1].fillna("").str.len()
    return bool(len(decimals)) and float((decimals > 6).mean()) > 0.5


def text_spec(values: pd.Series, column: str) -> dict:
    counts = values.value_counts(dropna=True)
    weights = dict(zip(counts.index.tolist(), (counts / counts.sum()).tolist(), strict=True))
    weights.update(RARE_VALUES.get(column, {}))
    return {
        "kind": "text",
        "missing": float(values.isna().mean()),
        "values": list(weights),
        "weights": [round(w, 8) for w in weights.values()],
    }


def number_spec(text: pd.Series) -> dict:
    """Quantiles of the non-sentinel values; discrete columns keep real values (nearest order statistic)."""
    values = pd.to_numeric(text, errors="raise")
    present = values.dropna()
    regular = present[present != SENTINEL].to_numpy(dtype=float)
    is_int = values.notna().all() and not text.str.contains(".", regex=False).any()
    continuous = _is_continuous(text)
    probs = np.linspace(0, 1, QUANTILES)
    method = "linear" if continuous else "inverted_cdf"
    quantiles = np.quantile(regular, probs, method=method) if len(regular) else np.zeros(0)
    return {
        "kind": "int" if is_int else "float",
        "missing": float(values.isna().mean()),
        "sentinel": float((present == SENTINEL).mean()) if len(present) else 0.0,
        "continuous": bool(continuous),
        "quantiles": [float(q) for q in quantiles],
    }


def _is_numeric(text: pd.Series) -> bool:
    return bool(pd.to_numeric(text.dropna(), errors="coerce").notna().all())


def table_profile(frame: pd.DataFrame) -> dict:
    columns = {}
    for column in frame.columns:
        text = frame[column]
        columns[column] = number_spec(text) if _is_numeric(text) else text_spec(text, column)
    return {"rows": len(frame), "columns": columns}


def previous_by_contract_type(frame: pd.DataFrame) -> dict:
    """Text vocabularies of previous applications depend on the product (POS, cash, card)."""
    text_columns = [c for c in frame.columns if not _is_numeric(frame[c])]
    return {
        kind: {c: text_spec(group[c], c) for c in text_columns}
        for kind, group in frame.groupby("NAME_CONTRACT_TYPE")
    }


def derived(app: pd.DataFrame) -> dict:
    """Ratios the generator draws directly: the credit term and the credit/goods-price gap."""
    credit = pd.to_numeric(app["AMT_CREDIT"])
    term = (credit / pd.to_numeric(app["AMT_ANNUITY"])).dropna()
    goods_ratio = (credit / pd.to_numeric(app["AMT_GOODS_PRICE"])).dropna()
    probs = np.linspace(0, 1, QUANTILES)
    return {
        "CREDIT_TERM": [float(q) for q in np.quantile(term, probs)],
        "CREDIT_GOODS_RATIO": [float(q) for q in np.quantile(goods_ratio, probs)],
    }


def build(real_dir: Path) -> dict:
    frames = {name: pd.read_csv(real_dir / path, dtype=str) for name, path in SOURCES.items()}
    profile = {name: table_profile(frame) for name, frame in frames.items()}
    previous = profile["previous_application"]
    previous["by_contract_type"] = previous_by_contract_type(frames["previous_application"])
    return {"tables": profile, "derived": derived(frames["application"])}


def main() -> None:
    real_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REAL
    if not real_dir.is_dir():
        sys.exit(f"real data directory not found: {real_dir}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(real_dir), separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
