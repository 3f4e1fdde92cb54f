"""The validation gate: a Great Expectations suite generated from the spec's contract.

`validate_bytes` reads one delivered partition (CSV or Parquet) and runs the suite on
it. Every failure says which check, which column, expected what, saw what, in words an
operator can act on. An unreadable, empty or mis-encoded file is a failure, never an
exception.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import statistics
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import pandas as pd

from mlgate.spec import ColumnRule, Contract

TYPE_LISTS = {
    "int": ["int64", "int32", "Int64"],
    "float": ["float64", "float32", "Float64", "int64", "int32", "Int64"],
    "string": ["StringDtype"],
}
WHAT_TO_DO = (
    "Fix the delivery upstream and re-run this day's ingest, or accept the batch on purpose "
    "by re-running with the parameter accept_reason set."
)


@dataclass(frozen=True)
class Failure:
    check: str
    column: str | None
    expected: str
    observed: str
    reason: str


@dataclass
class GateResult:
    success: bool
    ds: str
    rows: int
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"success": self.success, "ds": self.ds, "rows": self.rows,
                "failures": [asdict(f) for f in self.failures]}

    def summary(self) -> str:
        """One readable paragraph: the verdict and each failure's reason."""
        if self.success:
            return f"{self.ds}: passed the gate ({self.rows} rows)."
        lines = [f"{self.ds}: rejected by the gate ({self.rows} rows), {len(self.failures)} failed check(s):"]
        lines += [f"  - {f.reason}" for f in self.failures]
        lines.append(f"  What to do: {WHAT_TO_DO}")
        return "\n".join(lines)


def read_partition(data: bytes, filename: str) -> tuple[pd.DataFrame | None, Failure | None]:
    """Parse a delivered file; on failure return the reason instead of raising."""
    if not data or not data.strip():
        return None, Failure("readable", None, "a file with a header and rows", "an empty file",
                             f"{filename} is empty: nothing was delivered.")
    if filename.endswith(".parquet"):
        try:
            return pd.read_parquet(io.BytesIO(data)), None
        except Exception as exc:  # pyarrow raises many types for a broken file
            return None, Failure("readable", None, "a Parquet file", f"unreadable ({type(exc).__name__})",
                                 f"{filename} is not a readable Parquet file: {exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Failure("encoding", None, "UTF-8", f"invalid byte at offset {exc.start}",
                             f"{filename} is not UTF-8 (invalid byte at offset {exc.start}).")
    try:
        frame = pd.read_csv(io.StringIO(text))
    except Exception as exc:  # ParserError, EmptyDataError, ...
        return None, Failure("readable", None, "a CSV file with a header", f"unparseable ({type(exc).__name__})",
                             f"{filename} cannot be parsed as CSV: {exc}")
    if frame.empty:
        return None, Failure("row_count", None, "at least one row", "a header and no rows",
                             f"{filename} has a header but no rows.")
    return frame, None


def _dtype_fits(series: pd.Series, col_type: str) -> bool:
    kind = series.dtype.kind
    if col_type == "int":
        return kind in "iu"
    if col_type == "float":
        return kind in "iuf"
    return kind in "OUT" or pd.api.types.is_string_dtype(series.dtype)


def row_count_bounds(contract: Contract, ds: str, history: dict[str, int]) -> tuple[int, int | None]:
    """Allowed row counts for `ds`: the contract's minimum and a band around the median
    of the same weekday in the accepted history (all history days if none share it)."""
    rule = contract.row_count
    low, high = int(rule.get("min", 1)), None
    if not history or "min_ratio" not in rule:
        return low, high
    day = dt.date.fromisoformat(ds)
    window = int(rule.get("history_days", 28))
    recent = {d: n for d, n in history.items() if 0 < (day - dt.date.fromisoformat(d)).days <= window}
    same_weekday = [n for d, n in recent.items() if dt.date.fromisoformat(d).weekday() == day.weekday()]
    counts = same_weekday or list(recent.values())
    if not counts:
        return low, high
    median = statistics.median(counts)
    return max(low, int(median * float(rule["min_ratio"]))), int(median * float(rule.get("max_ratio", 10)) + 1)


def build_expectations(frame: pd.DataFrame, contract: Contract, ds: str, history: dict[str, int],
                       date_columns: dict[str, str] | None) -> list:
    """The GX expectations for one partition, generated from the contract."""
    import great_expectations.expectations as gxe

    exps = [gxe.ExpectTableColumnsToMatchSet(column_set=contract.column_names, exact_match=True)]
    low, high = row_count_bounds(contract, ds, history)
    exps.append(gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high))
    for rule in contract.columns:
        if rule.name not in frame.columns:
            continue  # reported by the column-set check
        exps.extend(_column_expectations(frame[rule.name], rule, contract))
    if date_columns:
        day = dt.date.fromisoformat(ds)
        for part, col in date_columns.items():
            if col in frame.columns and _dtype_fits(frame[col], "int"):
                exps.append(gxe.ExpectColumnValuesToBeInSet(column=col, value_set=[getattr(day, part)],
                                                            meta={"check": "partition_date"}))
    return exps


def _column_expectations(series: pd.Series, rule: ColumnRule, contract: Contract) -> list:
    import great_expectations.expectations as gxe

    col = rule.name
    all_null = bool(series.isna().all())
    out = []
    if not (rule.nullable and all_null):
        out.append(gxe.ExpectColumnValuesToBeInTypeList(column=col, type_list=TYPE_LISTS[rule.type]))
    if rule.nullable:
        share = rule.max_null_share if rule.max_null_share is not None else contract.max_null_share
        if share < 1.0:  # a column allowed to be wholly empty needs no null check
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=col, mostly=1.0 - share, meta={"check": "null_share"}))
    else:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=col))
    if all_null or not _dtype_fits(series, rule.type):
        return out  # value checks on the wrong type would only repeat the type failure
    if rule.min is not None or rule.max is not None:
        out.append(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=rule.min, max_value=rule.max, mostly=rule.mostly))
    if rule.allowed is not None:
        out.append(gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(rule.allowed), mostly=rule.mostly))
    if rule.pattern is not None:
        out.append(gxe.ExpectColumnValuesToMatchRegex(column=col, regex=rule.pattern, mostly=rule.mostly))
    if rule.unique:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=col))
    return out


@lru_cache(maxsize=1)
def _gx_batch_definition():
    """One ephemeral GX context per process, with a pandas data source for frames.

    Suites are generated per partition and validated on the batch directly: storing
    them in the context costs more than the validation itself (GX compares every
    expectation with every other on add)."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("mlgate").add_dataframe_asset("partition")
    return context, asset.add_batch_definition_whole_dataframe("whole_partition")


def run_suite(frame: pd.DataFrame, expectations: list, suite_name: str):
    """Run the expectations on the frame through a GX validation definition."""
    import great_expectations as gx

    _, batch_definition = _gx_batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(gx.ExpectationSuite(name=suite_name, expectations=expectations), result_format="SUMMARY")


def _describe(result) -> Failure:
    """Turn one failed GX expectation result into a readable failure."""
    cfg = result.expectation_config
    kw = cfg.kwargs
    col = kw.get("column")
    res = result.result or {}
    kind = (cfg.meta or {}).get("check") or cfg.type.replace("expect_", "")
    sample = res.get("partial_unexpected_list") or []
    sample_txt = ", ".join(repr(v) for v in list(dict.fromkeys(map(str, sample)))[:5])
    count, pct = res.get("unexpected_count"), res.get("unexpected_percent")
    bad = f"{count} value(s) ({pct:.1f}%)" if count is not None and pct is not None else ""
    where = f"column {col!r}" if col else "the table"
    t = cfg.type
    if result.exception_info and result.exception_info.get("raised_exception"):
        msg = result.exception_info.get("exception_message")
        return Failure(kind, col, "the check to run", f"error: {msg}", f"{where}: the check {t} could not run: {msg}")
    if t == "expect_table_columns_to_match_set":
        observed = res.get("observed_value") or []
        details = res.get("details", {}).get("mismatched", {})
        missing, unexpected = details.get("missing", []), details.get("unexpected", [])
        parts = []
        if missing:
            parts.append(f"missing {', '.join(map(str, missing))}")
        if unexpected:
            parts.append(f"unexpected {', '.join(map(str, unexpected))}")
        return Failure("columns", None, f"columns {', '.join(kw['column_set'])}", ", ".join(parts) or ", ".join(observed),
                       f"the columns do not match the contract: {'; '.join(parts) or 'different set'}.")
    if t == "expect_table_row_count_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        band = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        return Failure("row_count", None, f"{band} rows", f"{res.get('observed_value')} rows",
                       f"row count {res.get('observed_value')} is outside the allowed band ({band}, from the contract and the same weekday in history).")
    if t == "expect_column_values_to_be_in_type_list":
        return Failure("type", col, " or ".join(kw["type_list"][:2]), str(res.get("observed_value")),
                       f"{where} has type {res.get('observed_value')}, the contract says {kw['type_list'][0]}.")
    if t == "expect_column_values_to_not_be_null":
        if kind == "null_share":
            allowed = 1 - kw.get("mostly", 1)
            return Failure("null_share", col, f"at most {allowed:.0%} empty", f"{pct:.1f}% empty",
                           f"{where} is {pct:.1f}% empty, more than the {allowed:.0%} the contract allows.")
        return Failure("not_null", col, "no empty cells", f"{count} empty cell(s)",
                       f"{where} has {count} empty cell(s); the contract says it is never empty.")
    if t == "expect_column_values_to_be_between":
        return Failure("range", col, f"between {kw.get('min_value')} and {kw.get('max_value')}", f"{bad}: {sample_txt}",
                       f"{where}: {bad} outside [{kw.get('min_value')}, {kw.get('max_value')}], e.g. {sample_txt}.")
    if t == "expect_column_values_to_be_in_set":
        values = kw.get("value_set") or []
        shown = ", ".join(map(str, values[:8])) + (" ..." if len(values) > 8 else "")
        if kind == "partition_date":
            return Failure("partition_date", col, f"{shown} (the partition date)", f"{bad}: {sample_txt}",
                           f"{where}: {bad} belong to another date than the partition ({sample_txt}); the file may be in the wrong folder.")
        return Failure("allowed_values", col, f"one of {shown}", f"{bad}: {sample_txt}",
                       f"{where}: {bad} not in the allowed values (case-sensitive), e.g. {sample_txt}.")
    if t == "expect_column_values_to_match_regex":
        return Failure("pattern", col, f"matching {kw.get('regex')}", f"{bad}: {sample_txt}",
                       f"{where}: {bad} do not match {kw.get('regex')}, e.g. {sample_txt}.")
    if t == "expect_column_values_to_be_unique":
        return Failure("unique", col, "unique values", f"{bad} duplicated: {sample_txt}",
                       f"{where}: {bad} are duplicates, e.g. {sample_txt}; rows may have been delivered twice.")
    return Failure(kind, col, str(kw), str(res.get("observed_value")), f"{where}: {t} failed ({res}).")


def normalise_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns the NA-aware `StringDtype()` that GX's type checks recognise
    (pandas 3 reads text as `str`, which GX 1.24 does not match to any type name)."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype) and frame[c].dtype.na_value is not pd.NA]
    return frame.astype({c: pd.StringDtype() for c in text}) if text else frame


def validate_frame(frame: pd.DataFrame, contract: Contract, ds: str, history: dict[str, int] | None = None,
                   date_columns: dict[str, str] | None = None, suite_name: str = "mlgate") -> GateResult:
    """Run the contract's suite on a parsed partition."""
    frame = normalise_strings(frame)
    expectations = build_expectations(frame, contract, ds, history or {}, date_columns)
    result = run_suite(frame, expectations, suite_name)
    failures = [_describe(r) for r in result.results if not r.success]
    return GateResult(success=not failures, ds=ds, rows=int(len(frame)), failures=failures)


def validate_bytes(data: bytes, filename: str, contract: Contract, ds: str, history: dict[str, int] | None = None,
                   date_columns: dict[str, str] | None = None, suite_name: str = "mlgate") -> tuple[GateResult, pd.DataFrame | None]:
    """Read and validate one delivered file; returns the result and the parsed frame."""
    frame, failure = read_partition(data, filename)
    if failure is not None:
        return GateResult(success=False, ds=ds, rows=0, failures=[failure]), None
    return validate_frame(frame, contract, ds, history, date_columns, suite_name), frame
