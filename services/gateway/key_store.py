"""API keys in Postgres: create (the plain key is returned once, only its hash is kept), list, revoke, find.

A key reads `ck_<key_id>_<secret>`: the public `key_id` finds the row without scanning, and the SHA-256 of
the whole key (256 random bits, so a plain hash is enough) is compared in constant time by the caller.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import parse
from sqlalchemy import Engine, text

SCOPES = ("score", "explain", "model", "outcomes", "review", "decisions")
PREFIX = "ck"


class KeyStoreError(ValueError):
    """A key that cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    key_hash: str
    scopes: tuple[str, ...]
    rate_limit: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The public id inside a presented key, or None if it is not shaped like one of ours."""
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX and parts[1] and parts[2] else None


def matches(record: ApiKey, presented: str) -> bool:
    return hmac.compare_digest(record.key_hash, hash_key(presented))


def create_key(engine: Engine, name: str, scopes: list[str], rate_limit: str | None) -> tuple[ApiKey, str]:
    """A new key: (its record, the plain key — shown to the user once and never stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise KeyStoreError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    if rate_limit is not None:
        _check_rate_limit(rate_limit)
    key_id = secrets.token_hex(6)
    plain = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(key_id, name, hash_key(plain), tuple(dict.fromkeys(scopes)), rate_limit, _now(), None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (key_id, name, key_hash, scopes, rate_limit, created_at) "
                "VALUES (:key_id, :name, :key_hash, :scopes, :rate_limit, :created_at)"
            ),
            {
                "key_id": key_id,
                "name": name,
                "key_hash": record.key_hash,
                "scopes": list(record.scopes),
                "rate_limit": rate_limit,
                "created_at": record.created_at,
            },
        )
    return record, plain


def find_key(engine: Engine, key_id: str) -> ApiKey | None:
    with engine.connect() as conn:
        row = conn.execute(text(f"{_SELECT} WHERE key_id = :key_id"), {"key_id": key_id}).first()
    return None if row is None else _record(row)


def list_keys(engine: Engine) -> list[ApiKey]:
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(text(f"{_SELECT} ORDER BY created_at"))]


def revoke_key(engine: Engine, key_id: str) -> None:
    with engine.begin() as conn:
        revoked = conn.execute(
            text("UPDATE api_keys SET revoked_at = :now WHERE key_id = :key_id AND revoked_at IS NULL"),
            {"now": _now(), "key_id": key_id},
        ).rowcount
    if revoked == 0:
        raise KeyStoreError(f"no active key with id {key_id!r} (see `credit keys list`)")


_SELECT = "SELECT key_id, name, key_hash, scopes, rate_limit, created_at, revoked_at FROM api_keys"


def _record(row: object) -> ApiKey:
    key_id, name, key_hash, scopes, rate_limit, created_at, revoked_at = row  # type: ignore[misc]
    return ApiKey(key_id, name, key_hash, tuple(scopes), rate_limit, created_at, revoked_at)


def _check_rate_limit(rate_limit: str) -> None:
    try:
        parse(rate_limit)
    except ValueError:
        raise KeyStoreError(f"rate limit {rate_limit!r} is not like '100/second' or '1000/minute'") from None


def _now() -> datetime:
    return datetime.now(UTC)
