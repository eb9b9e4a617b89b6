"""The four-fifths rule's arithmetic: each group's approval rate over the best-treated group's, and the
group labels (gender from the CODE_GENDER vocabulary, age bands). Monitoring applies it to the decision
log; the promotion gates to a candidate's decisions on validation rows."""

from dataclasses import dataclass

from services.feature_definitions.vocabularies import VOCABULARIES

AGE_EDGES = (25, 35, 45, 55)
MIN_GROUP_DECISIONS = 30  # smaller groups are shown but get no ratio: their rate is mostly noise


@dataclass(frozen=True)
class GroupRate:
    attribute: str
    group: str
    decisions: int
    approval_rate: float
    ratio: float | None


def gender_label(code: float | None) -> str:
    vocabulary = VOCABULARIES["code_gender"]
    if code is None:
        return "missing"
    return vocabulary[int(code)] if 0 <= code < len(vocabulary) else "unknown"


def age_label(bucket: int) -> str:
    """width_bucket over AGE_EDGES: 0 is below the first edge, len(AGE_EDGES) at or above the last."""
    if bucket == 0:
        return f"<{AGE_EDGES[0]}"
    if bucket == len(AGE_EDGES):
        return f"{AGE_EDGES[-1]}+"
    return f"{AGE_EDGES[bucket - 1]}-{AGE_EDGES[bucket] - 1}"


def with_ratios(attribute: str, counts: list[tuple[str, int, float]]) -> list[GroupRate]:
    """Ratios against the highest approval rate among groups large enough to judge."""
    judged = [rate for _, n, rate in counts if n >= MIN_GROUP_DECISIONS]
    best = max(judged, default=0.0)
    return [
        GroupRate(attribute, group, n, rate, rate / best if best > 0 and n >= MIN_GROUP_DECISIONS else None)
        for group, n, rate in counts
    ]
