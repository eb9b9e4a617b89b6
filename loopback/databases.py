"""Names of throwaway databases in the local PostgreSQL (created by whoever uses them, dropped after)."""

import uuid

from sqlalchemy.engine import make_url

from services.common.settings import CommonSettings


def throwaway_url(prefix: str = "credit_test") -> str:
    """The URL of a database of its own (not created yet) in the local PostgreSQL."""
    base = make_url(CommonSettings().database_url)
    return base.set(database=f"{prefix}_{uuid.uuid4().hex[:12]}").render_as_string(hide_password=False)
