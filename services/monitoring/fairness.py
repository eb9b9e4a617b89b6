"""Approval rate by gender and by age band, read from the logged feature vectors.

Gender is the feature `app_code_gender_code` (position in the fixed CODE_GENDER vocabulary) and age is
`app_age_years` (falling back to -app_days_birth / 365.25), as services/features defines them. Each
group's ratio is its approval rate over the best-treated group's: the four-fifths rule flags ratios
below 0.8.
"""

from datetime import datetime

import psycopg2.extensions

from services.model.fairness import AGE_EDGES, GroupRate, age_label, gender_label, with_ratios
from services.monitoring.approval import APPROVED

_LOGGED = (
    f"SELECT {APPROVED} AS approved, d.feature_values AS x, n.names FROM decision_log d"
    " JOIN feature_name_sets n USING (names_hash) WHERE d.decided_at >= %(since)s"
)


def _feature(name: str) -> str:
    """SQL for one logged feature's value (NULL when missing or absent from the vector's feature set)."""
    return f"NULLIF(x[array_position(names, '{name}')], 'NaN')"


_GENDER = _feature("app_code_gender_code")
_AGE = f"COALESCE({_feature('app_age_years')}, -{_feature('app_days_birth')} / 365.25)"
_APPROVAL = "count(*), avg(approved::int)"
_QUERIES = {
    "gender": f"WITH logged AS ({_LOGGED}) SELECT {_GENDER} AS g, {_APPROVAL} FROM logged GROUP BY g",
    "age_band": f"WITH logged AS ({_LOGGED}) SELECT width_bucket({_AGE}, %(edges)s::float8[]) AS g,"
    f" {_APPROVAL} FROM logged WHERE {_AGE} IS NOT NULL GROUP BY g",
}


def approval_by_group(conn: psycopg2.extensions.connection, since: datetime) -> list[GroupRate]:
    with conn.cursor() as cur:
        cur.execute(_QUERIES["gender"], {"since": since})
        genders = [(gender_label(g), int(n), float(r)) for g, n, r in cur.fetchall()]
        cur.execute(_QUERIES["age_band"], {"since": since, "edges": list(AGE_EDGES)})
        ages = [(age_label(int(b)), int(n), float(r)) for b, n, r in cur.fetchall()]
    return with_ratios("gender", sorted(genders)) + with_ratios("age_band", sorted(ages, key=_age_order))


def _age_order(row: tuple[str, int, float]) -> int:
    labels = [age_label(b) for b in range(len(AGE_EDGES) + 1)]
    return labels.index(row[0])


def min_ratios(groups: list[GroupRate]) -> dict[str, float]:
    """Per attribute, the worst ratio (what the alert rule watches)."""
    worst: dict[str, float] = {}
    for group in groups:
        if group.ratio is not None:
            worst[group.attribute] = min(group.ratio, worst.get(group.attribute, 1.0))
    return worst
