"""Filtered reads of the stored tables with ``pyarrow.dataset``, shared by the data service and ``load``.

A table lives at ``<data_dir>/<name>/year=<YYYY>/part-0.parquet`` (hive partitioning). A
:class:`TableQuery` holds the filters a caller may ask for:

- ``year``: one partition (only its files are opened);
- ``columns``: the columns to return (schema columns, or ``year``);
- ``start`` / ``end``: on the table's time column (the first ``datetime`` column of its schema:
  ``time_start``, ``week_start``, ``start``...), start included, end excluded;
- ``equals``: ``{column: [values]}``, a row is kept when the column holds one of the values.

The filters are pushed down to the Parquet scan (row groups and partitions skipped), and the
result comes as a stream of record batches, so the service never holds a large table whole.

File checksums are checked against the build manifest once per (path, size, mtime_ns): a file
changed after the build fails its check; an unchanged one is not hashed again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

from ..datasets import get_dataset
from ..datasets.build import tree_checksum
from ..datasets.store import sha256_of

__all__ = ["CatalogError", "ParameterError", "TableQuery", "time_column", "parse_query", "built_years",
           "verify_files", "scan_table", "read_table", "zarr_checksum"]


class CatalogError(ValueError):
    """A catalogue request that cannot be served; the message names the entry and what to do."""


class ParameterError(CatalogError):
    """A bad filter; ``parameter`` names it (the data service answers 400 with it)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class TableQuery:
    year: int | None = None
    columns: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    equals: dict[str, list] = field(default_factory=dict)

    def parameters(self) -> dict:
        """The filters as plain JSON values, for the audit log and report provenance."""
        out: dict = {}
        if self.year is not None:
            out["year"] = self.year
        if self.columns is not None:
            out["columns"] = list(self.columns)
        if self.start is not None:
            out["start"] = self.start.isoformat()
        if self.end is not None:
            out["end"] = self.end.isoformat()
        for column, values in self.equals.items():
            out[column] = values[0] if len(values) == 1 else list(values)
        return out

    @property
    def empty(self) -> bool:
        return not self.parameters()


def _schema(name: str):
    module = get_dataset(name)
    if module.KIND != "table":
        raise CatalogError(f"{name} is a {module.KIND}, not a table")
    return module.SCHEMA


def time_column(name: str) -> str:
    """The time column of table ``name``: the first datetime column of its schema."""
    return next(c.name for c in _schema(name).columns if c.dtype == "datetime")


def _as_time(name: str, parameter: str, value) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ParameterError(parameter, f"{name}: {parameter} must be an ISO date or date-time "
                                            f"like 2024-07-01 or 2024-07-01T06:00, not {value!r}") from None
    # Stored times are UTC; a time without a zone is taken as UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _department_name(value: str) -> str:
    from ..datasets.geography import _DEPARTMENTS

    for code, department, *_ in _DEPARTMENTS:
        if value == code:
            return department
    return value


def _typed(name: str, column, value):
    text = str(value).strip()
    try:
        if column.dtype == "int64":
            return int(text)
        if column.dtype == "float64":
            return float(text)
        if column.dtype == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return lowered in ("true", "1")
        if column.dtype == "datetime":
            return _as_time(name, column.name, text)
    except ValueError:
        raise ParameterError(column.name, f"{name}: {column.name} must be a {column.dtype} value, not {value!r}") from None
    return _department_name(text) if column.name == "department" else text


def _values(raw) -> list:
    if isinstance(raw, (list, tuple, set)):
        return list(raw)
    return [raw]


def parse_query(name: str, params: Mapping[str, object], built_years: Iterable[int] = ()) -> TableQuery:
    """Check and type the filters of a read of table ``name``.

    ``params`` maps a parameter to a value or a list of values (a query string's repeats).
    Raises :class:`ParameterError` naming the first bad parameter.
    """
    schema = _schema(name)
    by_name = {c.name: c for c in schema.columns}
    tcol = time_column(name)
    query = TableQuery()
    for parameter, raw in params.items():
        values = [v for v in _values(raw) if v is not None]
        if not values:
            continue
        if parameter == "year":
            try:
                year = values[-1]
                if isinstance(year, bool) or (not isinstance(year, int) and not str(year).strip().isdigit()):
                    raise ValueError
                query.year = int(year)
            except ValueError:
                raise ParameterError("year", f"{name}: year must be a whole number like 2024, not {values[-1]!r}") from None
            built = sorted(built_years)
            if built and query.year not in built:
                raise ParameterError("year", f"{name}: no data for year {query.year}; built years: "
                                             f"{', '.join(map(str, built))}")
        elif parameter == "columns":
            columns: list[str] = []
            for value in values:
                items = value.split(",") if isinstance(value, str) else list(value)
                columns.extend(str(item).strip() for item in items if str(item).strip())
            unknown = [c for c in columns if c not in by_name and c != "year"]
            if unknown:
                raise ParameterError("columns", f"{name}: unknown column(s) {', '.join(unknown)}; "
                                                f"columns: {', '.join(schema.names)}")
            query.columns = list(dict.fromkeys(columns))
        elif parameter in ("start", "end"):
            setattr(query, parameter, _as_time(name, parameter, values[-1]))
        elif parameter in by_name and parameter != tcol:
            query.equals[parameter] = [_typed(name, by_name[parameter], v) for v in values]
        else:
            allowed = ["year", "columns", "start", "end"] + [c for c in schema.names if c != tcol]
            raise ParameterError(parameter, f"{name}: unknown parameter {parameter!r}; allowed: {', '.join(allowed)}")
    if query.start is not None and query.end is not None and query.end <= query.start:
        raise ParameterError("end", f"{name}: end ({query.end.isoformat()}) must come after start ({query.start.isoformat()})")
    return query


def built_years(record: dict | None) -> list[int]:
    return sorted(int(f.split("/")[0].split("=")[1]) for f in (record or {}).get("files", {}) if f.startswith("year="))


# --- checksums ------------------------------------------------------------------------------

_CHECKED: dict[tuple, str] = {}
_LOCK = threading.Lock()


def _cached(key: tuple, compute) -> str:
    with _LOCK:
        known = _CHECKED.get(key)
    if known is None:
        known = compute()
        with _LOCK:
            _CHECKED[key] = known
    return known


def zarr_checksum(path: Path) -> str:
    """tree_checksum of a Zarr store, recomputed only when a file's size or mtime changed."""
    files = sorted((str(p.relative_to(path)), s.st_size, s.st_mtime_ns)
                   for p in Path(path).rglob("*") if p.is_file() for s in [p.stat()])
    return _cached(("tree", str(path), tuple(files)), lambda: tree_checksum(path))


def verify_files(name: str, data_dir: Path, record: dict | None, year: int | None = None) -> None:
    """Check the stored files of ``name`` (or of one year) against the manifest, with a cache."""
    if record is None:
        raise CatalogError(f"{name}: not built in {data_dir}; run `occidata data build --size demo` (or `make up`)")
    for relative, expected in record["files"].items():
        if year is not None and not relative.startswith(f"year={year}/"):
            continue
        path = Path(data_dir) / name / relative
        if not path.exists():
            raise CatalogError(f"{name}: missing data file {path}; rebuild with `occidata data build`")
        if path.is_dir():
            actual = zarr_checksum(path)
        else:
            stat = path.stat()
            actual = _cached(("file", str(path), stat.st_size, stat.st_mtime_ns), lambda: sha256_of(path))
        if actual != expected:
            raise CatalogError(f"{name}: checksum mismatch for {path} (changed since the build); rebuild it")


# --- reading ----------------------------------------------------------------------------------


def _expression(name: str, query: TableQuery, schema):
    import pyarrow as pa
    import pyarrow.dataset as ds

    expression = None

    def both(condition):
        nonlocal expression
        expression = condition if expression is None else expression & condition

    if query.year is not None:
        both(ds.field("year") == query.year)
    tcol = time_column(name)
    ttype = schema.field(tcol).type
    if query.start is not None:
        both(ds.field(tcol) >= pa.scalar(query.start, type=ttype))
    if query.end is not None:
        both(ds.field(tcol) < pa.scalar(query.end, type=ttype))
    for column, values in query.equals.items():
        ctype = schema.field(column).type
        both(ds.field(column).isin(pa.array(values, type=ctype)))
    return expression


def scan_table(name: str, data_dir: str | Path, query: TableQuery | None = None, batch_size: int = 262144,
               files: Iterable[str] | None = None):
    """A ``pyarrow.RecordBatchReader`` over table ``name`` with the filters of ``query``.

    ``files``: the Parquet files to read, relative to the table's folder (those of its record,
    :func:`occidata.datasets.stored.stored_record`); default every file found in the folder.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    query = query or TableQuery()
    root = Path(data_dir) / name
    partitioning = ds.partitioning(pa.schema([("year", pa.int32())]), flavor="hive")
    if files is None:
        dataset = ds.dataset(str(root), format="parquet", partitioning=partitioning, exclude_invalid_files=False,
                             ignore_prefixes=[".", "_"])
    else:
        # Only the recorded (and checked) files: never one an interrupted write or an undone ingest left.
        dataset = ds.dataset([str(root / relative) for relative in sorted(files)], format="parquet",
                             partitioning=partitioning, partition_base_dir=str(root))
    schema = dataset.schema
    columns = query.columns if query.columns is not None else list(schema.names)
    scanner = dataset.scanner(columns=columns, filter=_expression(name, query, schema), batch_size=batch_size,
                              use_threads=True)
    return scanner.to_reader()


def read_table(name: str, data_dir: str | Path, query: TableQuery | None = None, files: Iterable[str] | None = None):
    """The whole filtered table as a ``pyarrow.Table`` (``files`` as for :func:`scan_table`)."""
    return scan_table(name, data_dir, query, files=files).read_all()


def to_pandas(table):
    """A pandas frame with the dtypes a direct catalogue load gives (string, Int64, boolean, year as category)."""
    import pandas as pd
    import pyarrow as pa

    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(),
               pa.large_string(): pd.StringDtype()}
    frame = table.replace_schema_metadata(None).to_pandas(types_mapper=mapping.get)
    if "year" in frame.columns:
        frame["year"] = frame["year"].astype("category")
    return frame
