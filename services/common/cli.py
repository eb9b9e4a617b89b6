"""What every `credit` command shares: problems a user can fix end it with one clear line."""

from collections.abc import Iterator
from contextlib import contextmanager

import typer


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """`kinds` are the errors whose message tells the user what to fix: shown without a traceback."""
    try:
        yield
    except kinds as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
