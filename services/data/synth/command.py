"""`credit data synth`: the command-line face of `generate`."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from services.data.synth.build import generate


class OutputFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def synth_command(
    clients: Annotated[int, typer.Option("--clients", min=1, help="Training clients (+~16% test).")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, byte-identical files.")] = 42,
    out: Annotated[Path, typer.Option("--out", help="Output directory (created).")] = Path("data/synth"),
    fmt: Annotated[OutputFormat, typer.Option("--format", help="csv or parquet.")] = OutputFormat.csv,
    drift: Annotated[bool, typer.Option("--drift", help="Shift the documented drift columns.")] = False,
) -> None:
    """Generate the eight Home Credit tables and oracle.csv (true default probability per client)."""
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    try:
        rows = generate(clients, seed, out, fmt.value, drift)
    except OSError as error:
        typer.echo(f"error: cannot write to {out}: {error.strerror or error}", err=True)
        raise typer.Exit(code=1) from error
    width = max(len(name) for name in rows)
    for name, count in rows.items():
        typer.echo(f"{name}.{fmt.value:<{width + 8 - len(name)}} {count:>12,} rows")
    typer.echo(f"{'total':<{width + 9}} {sum(rows.values()):>12,} rows")
