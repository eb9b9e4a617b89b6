"""Which file in a directory holds which Kaggle table.

Rule: a `.csv` or `.parquet` file in DIR or one of its immediate subfolders belongs to a table when its
stem, compared case-insensitively, is the table name (`bureau.csv`, `POS_CASH_balance.parquet`) or the
table name followed by `_` and any suffix (`application_train_sample.csv`). When several table names fit
(`bureau_balance_2.csv` starts with `bureau_` too) the longest name wins. Any other file is ignored and
listed as such; two files for one table are an error, because loading either would silently drop the other.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.data.tables import TABLES, TableSpec

SUFFIXES = (".csv", ".parquet")


class SourceError(Exception):
    """The directory does not name its tables unambiguously; the message says which files clash."""


@dataclass(frozen=True)
class TableSources:
    files: dict[str, Path]  # table name (as in TABLES) -> its file
    ignored: tuple[Path, ...]  # files whose name fits no table


def find_sources(directory: Path, only: Sequence[str] | None = None) -> TableSources:
    """Match the files of `directory` to tables; `only` (case-insensitive names) restricts the tables."""
    if not directory.is_dir():
        raise SourceError(f"{directory} is not a directory")
    wanted = _wanted_tables(only)
    matches: dict[str, list[Path]] = {}
    ignored: list[Path] = []
    for path in _candidate_files(directory):
        spec = table_for_file(path)
        if spec is None:
            ignored.append(path)
        elif spec.name in wanted:
            matches.setdefault(spec.name, []).append(path)
    _reject_clashes(matches)
    files = {name: matches[name][0] for name in wanted if name in matches}
    missing = [name for name in wanted if name not in files]
    if only and missing:
        raise SourceError(f"no file in {directory} for table(s): {', '.join(missing)}")
    if not files:
        raise SourceError(
            f"no table file in {directory} (expected e.g. bureau.csv or application_train_*.csv)"
        )
    return TableSources(files=files, ignored=tuple(ignored))


def table_for_file(path: Path) -> TableSpec | None:
    stem = path.name[: -len(path.suffix)].lower()
    fitting = [t for t in TABLES if stem == t.name.lower() or stem.startswith(t.name.lower() + "_")]
    return max(fitting, key=lambda t: len(t.name), default=None)


def _wanted_tables(only: Sequence[str] | None) -> list[str]:
    by_lower = {t.name.lower(): t.name for t in TABLES}
    if not only:
        return list(by_lower.values())
    unknown = [name for name in only if name.lower() not in by_lower]
    if unknown:
        raise SourceError(f"unknown table(s): {', '.join(unknown)}; known: {', '.join(by_lower)}")
    return list(dict.fromkeys(by_lower[name.lower()] for name in only))


def _candidate_files(directory: Path) -> list[Path]:
    folders = [directory, *sorted(p for p in directory.iterdir() if p.is_dir())]
    return [
        p
        for folder in folders
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in SUFFIXES
    ]


def _reject_clashes(matches: dict[str, list[Path]]) -> None:
    clashes = {name: paths for name, paths in matches.items() if len(paths) > 1}
    if clashes:
        detail = "; ".join(f"{name}: {', '.join(map(str, paths))}" for name, paths in clashes.items())
        raise SourceError(f"more than one file for a table ({detail}); keep one file per table")
