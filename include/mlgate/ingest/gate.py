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
import math
import statistics
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import pandas as pd

from mlgate.config.spec import ColumnRule, Contract
from mlgate.ingest import history

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
class GateInputs:
    """What the gate knows besides the file: the partition date, the history profile of
    accepted days (`mlgate.ingest.history.build`), the columns that must equal the partition date,
    the timestamp that must fall in the partition's local day, and for an outcomes feed
    the derived label column and the row count of the same day's features."""

    ds: str
    history: dict | None = None
    date_columns: dict | None = None
    timestamp: tuple[str, str] | None = None  # (column, timezone)
    label: str | None = None
    expected_rows: int | None = None
    label_rule: dict | None = None  # the spec's label section (outcomes feed)


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
    notes: list[str] = field(default_factory=list)
    gx_result: object = field(default=None, repr=False, compare=False)  # the GX validation result

    def to_dict(self) -> dict:
        return {
            "success": self.success,
            "ds": self.ds,
            "rows": self.rows,
            "failures": [asdict(f) for f in self.failures],
            "notes": self.notes,
        }

    def summary(self) -> str:
        """One readable paragraph: the verdict and each failure's reason."""
        if self.success:
            return f"{self.ds}: passed the gate ({self.rows} rows)."
        lines = [
            f"{self.ds}: rejected by the gate ({self.rows} rows), "
            f"{len(self.failures)} failed check(s):"
        ]
        lines += [f"  - {f.reason}" for f in self.failures]
        lines.append(f"  What to do: {WHAT_TO_DO}")
        return "\n".join(lines)


def read_partition(data: bytes, filename: str) -> tuple[pd.DataFrame | None, Failure | None]:
    """Parse a delivered file; on failure return the reason instead of raising."""
    if not data or not data.strip():
        return None, Failure(
            "readable",
            None,
            "a file with a header and rows",
            "an empty file",
            f"{filename} is empty: nothing was delivered.",
        )
    if filename.endswith(".parquet"):
        return _read_parquet(data, filename)
    return _read_csv(data, filename)


def _read_parquet(data: bytes, filename: str) -> tuple[pd.DataFrame | None, Failure | None]:
    """Parse a Parquet file, or say why it cannot be read."""
    try:
        return pd.read_parquet(io.BytesIO(data)), None
    except Exception as exc:  # pyarrow raises many types for a broken file
        return None, Failure(
            "readable",
            None,
            "a Parquet file",
            f"unreadable ({type(exc).__name__})",
            f"{filename} is not a readable Parquet file: {exc}",
        )


def _read_csv(data: bytes, filename: str) -> tuple[pd.DataFrame | None, Failure | None]:
    """Parse a UTF-8 CSV file with a header and rows, or say what is wrong with it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Failure(
            "encoding",
            None,
            "UTF-8",
            f"invalid byte at offset {exc.start}",
            f"{filename} is not UTF-8 (invalid byte at offset {exc.start}).",
        )
    try:
        frame = pd.read_csv(io.StringIO(text))
    except Exception as exc:  # ParserError, EmptyDataError, ...
        return None, Failure(
            "readable",
            None,
            "a CSV file with a header",
            f"unparseable ({type(exc).__name__})",
            f"{filename} cannot be parsed as CSV: {exc}",
        )
    if frame.empty:
        return None, Failure(
            "row_count",
            None,
            "at least one row",
            "a header and no rows",
            f"{filename} has a header but no rows.",
        )
    # pandas took the first column as the index
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        return None, Failure(
            "columns",
            None,
            "as many fields per row as the header",
            "more fields than the header",
            f"{filename}: rows have more fields than the header "
            "(a trailing delimiter or a shifted export).",
        )
    return frame, None


def _dtype_fits(series: pd.Series, col_type: str) -> bool:
    kind = series.dtype.kind
    if col_type == "int":
        return kind in "iu"
    if col_type == "float":
        return kind in "iuf"
    return kind in "OUT" or pd.api.types.is_string_dtype(series.dtype)


def row_count_bounds(contract: Contract, ds: str, profile: dict | None) -> tuple[int, int | None]:
    """Allowed row counts for `ds`: the contract's minimum and a band around the median
    of the same weekday in the accepted history (all history days if none share it)."""
    rule = contract.row_count
    low, high = int(rule["min"]), None
    if not _history_ready(contract, profile) or rule["min_ratio"] is None:
        return low, high
    median = statistics.median(history.same_weekday_rows(profile, ds))
    low = max(low, int(median * float(rule["min_ratio"])))
    return low, max(low, int(median * float(rule["max_ratio"]) + 1))


def _history_ready(contract: Contract, profile: dict | None) -> bool:
    return bool(profile) and len(profile["days"]) >= int(contract.history["min_days"])


def prepare(
    frame: pd.DataFrame, contract: Contract, inputs: GateInputs
) -> tuple[pd.DataFrame, list[str]]:
    """The batch GX validates: text columns normalised, plus a 0/1 column per judged
    slice value (their means are the slice shares). Returns the batch and the names of
    the columns the gate added."""
    frame = normalise_strings(frame)
    added = []
    if inputs.timestamp and contract.timestamp_in_day and inputs.timestamp[0] in frame.columns:
        column, timezone = inputs.timestamp
        local = (
            pd.to_datetime(frame[column], utc=True, errors="coerce")
            .dt.tz_convert(timezone)
            .dt.strftime("%Y-%m-%d")
        )
        frame = frame.assign(**{local_date_column(column): local.astype("object")})
        added.append(local_date_column(column))
    if not _history_ready(contract, inputs.history):
        return frame, added
    batch, judged = history.with_indicators(
        frame, inputs.history, float(contract.history["slice_min_share"])
    )
    batch, logs = history.with_nonzero_logs(batch, inputs.history)
    return batch, added + [history.indicator_column(c, v) for c, v in judged] + logs


def local_date_column(column: str) -> str:
    """Name of the column holding the local date of timestamp `column`."""
    return f"__local_date__{column}"


def build_expectations(
    frame: pd.DataFrame, contract: Contract, inputs: GateInputs, added: list[str] = ()
) -> list:
    """The GX expectations for one partition, generated from the contract and the
    history profile of accepted days."""
    import great_expectations.expectations as gxe

    own = list(added) + (
        [inputs.label] if inputs.label in frame.columns else []
    )  # columns the gate added
    exps = [
        gxe.ExpectTableColumnsToMatchSet(column_set=contract.column_names + own, exact_match=True)
    ]
    low, high = row_count_bounds(contract, inputs.ds, inputs.history)
    exps.append(gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high))
    for rule in contract.columns:
        if rule.name not in frame.columns:
            continue  # reported by the column-set check
        exps.extend(_column_expectations(frame[rule.name], rule, contract))
    exps.extend(_partition_date_expectations(frame, inputs))
    exps.extend(_relation_expectations(frame, contract))
    exps.extend(_label_coverage_expectations(contract, inputs))
    exps.extend(_label_outage_expectations(frame, inputs))
    if _history_ready(contract, inputs.history):
        exps.extend(_history_expectations(frame, contract, inputs, added))
    return exps


def _partition_date_expectations(frame: pd.DataFrame, inputs: GateInputs) -> list:
    """The date columns equal the partition date; the timestamp falls in its local day."""
    import great_expectations.expectations as gxe

    exps = []
    if inputs.date_columns:
        day = dt.date.fromisoformat(inputs.ds)
        for part, col in inputs.date_columns.items():
            if col in frame.columns and _dtype_fits(frame[col], "int"):
                exps.append(
                    gxe.ExpectColumnValuesToBeInSet(
                        column=col, value_set=[getattr(day, part)], meta={"check": "partition_date"}
                    )
                )
    if inputs.timestamp and local_date_column(inputs.timestamp[0]) in frame.columns:
        column, timezone = inputs.timestamp
        exps.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=local_date_column(column),
                value_set=[inputs.ds],
                meta={"check": "timestamp_in_day", "timezone": timezone, "column": column},
            )
        )
    return exps


def _relation_expectations(frame: pd.DataFrame, contract: Contract) -> list:
    """The contract's relations between numeric columns (a >= b or a > b)."""
    import great_expectations.expectations as gxe

    exps = []
    for relation in contract.relations:
        pair = [relation["a"], relation["b"]]
        if set(pair) <= set(frame.columns) and all(_dtype_fits(frame[c], "float") for c in pair):
            exps.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=relation["a"],
                    column_B=relation["b"],
                    or_equal=relation["op"] == ">=",
                    ignore_row_if="either_value_is_missing",
                    mostly=float(relation["mostly"]),
                    meta={"check": "relation"},
                )
            )
    return exps


def _label_coverage_expectations(contract: Contract, inputs: GateInputs) -> list:
    """For an outcomes feed: enough outcome rows for the day's features rows."""
    import great_expectations.expectations as gxe

    if not (inputs.label and inputs.expected_rows):
        return []
    coverage = float(contract.history["min_coverage"])
    return [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=int(inputs.expected_rows * coverage),
            max_value=inputs.expected_rows,
            meta={"check": "label_coverage", "features_rows": inputs.expected_rows},
        )
    ]


def _label_outage_expectations(frame: pd.DataFrame, inputs: GateInputs) -> list:
    """For an outcomes feed, without history: the label took its `missing` value on at most
    the spec's share of the rows, and (unless the spec allows it) is not one value all day."""
    import great_expectations.expectations as gxe

    rule = inputs.label_rule
    if not (rule and rule["name"] in frame.columns and len(frame)):
        return []
    exps = [
        gxe.ExpectColumnValuesToNotBeNull(
            column=rule["column"],
            mostly=1.0 - float(rule["max_missing_share"]),
            meta={"check": "label_missing", "label": rule["name"], "missing": rule["missing"]},
        )
    ]
    if rule["reject_constant_day"]:
        exps.append(
            gxe.ExpectColumnUniqueValueCountToBeBetween(
                column=rule["name"],
                min_value=2,
                meta={"check": "label_constant", "value": str(frame[rule["name"]].iloc[0])},
            )
        )
    return exps


def _history_expectations(
    frame: pd.DataFrame, contract: Contract, inputs: GateInputs, added: list[str]
) -> list:
    """Distribution, slice volume, new categories, positive rate, non-zero scale and empty
    cells against history."""
    profile, rules = inputs.history, contract.history
    return (
        _distribution_expectations(frame, profile, rules)
        + _slice_volume_expectations(profile, rules, added)
        + _slice_weekday_expectations(profile, rules, added, inputs.ds)
        + _nonzero_expectations(frame, profile, rules)
        + _missing_alone_expectations(frame, contract, profile)
        + _new_category_expectations(frame, profile, rules)
        + _positive_rate_expectations(frame, profile, rules, inputs.label)
    )


def _distribution_expectations(frame: pd.DataFrame, profile: dict, rules: dict) -> list:
    """Each numeric column's daily mean within the band of the accepted days' means."""
    import great_expectations.expectations as gxe

    exps = []
    margin = float(rules["numeric_margin"])
    for col, means in profile["means"].items():
        limits = history.band(means, margin)
        if (
            limits
            and col in frame.columns
            and _dtype_fits(frame[col], "float")
            and frame[col].notna().any()
        ):
            exps.append(
                gxe.ExpectColumnMeanToBeBetween(
                    column=col,
                    min_value=limits[0],
                    max_value=limits[1],
                    meta={"check": "distribution", "days": len(means)},
                )
            )
    return exps


def _slice_volume_expectations(profile: dict, rules: dict, added: list[str]) -> list:
    """Each judged slice value's share of the rows within its history band."""
    import great_expectations.expectations as gxe

    exps = []
    slice_margin = float(rules["slice_margin"])
    for name, col, value in _judged_slices(added):
        low, high = history.band(profile["shares"][col][value], slice_margin, relative=True)
        exps.append(
            gxe.ExpectColumnMeanToBeBetween(
                column=name,
                min_value=low,
                max_value=min(1.0, high),
                meta={"check": "slice_volume", "slice": col, "value": value},
            )
        )
    return exps


def _judged_slices(added: list[str]) -> list[tuple[str, str, str]]:
    """(indicator column, slice column, value) of the slice values the gate judges."""
    return [
        (name, *name[len(history.INDICATOR_PREFIX) :].split("=", 1))
        for name in added
        if name.startswith(history.INDICATOR_PREFIX)
    ]


def _slice_weekday_expectations(profile: dict, rules: dict, added: list[str], ds: str) -> list:
    """Each judged slice value's share at least `slice_weekday_ratio` x its median share on
    the same weekday in history: a slice that lost most of its rows while the day's total and
    the slice's all-week band still pass."""
    import great_expectations.expectations as gxe

    ratio = rules["slice_weekday_ratio"]
    if ratio is None:
        return []
    exps = []
    for name, col, value in _judged_slices(added):
        shares = profile["shares"][col][value]
        same = history.same_weekday(profile["share_days"][col], ds)
        median = statistics.median(shares[i] for i in same)
        exps.append(
            gxe.ExpectColumnMeanToBeBetween(
                column=name,
                min_value=float(ratio) * median,
                meta={
                    "check": "slice_weekday",
                    "slice": col,
                    "value": value,
                    "median": median,
                    "weekday": dt.date.fromisoformat(ds).strftime("%A"),
                },
            )
        )
    return exps


def _nonzero_expectations(frame: pd.DataFrame, profile: dict, rules: dict) -> list:
    """The lower decile of each zero-inflated column's non-zero values within `nonzero_factor`
    of history's: a unit change multiplies every non-zero value, the lightest ones too, while
    the zeros, most of the column, stay zeros."""
    import great_expectations.expectations as gxe

    exps = []
    least, factor = int(rules["nonzero_min_values"]), float(rules["nonzero_factor"])
    for col, pooled in (profile.get("nonzero") or {}).items():
        name = history.nonzero_log_column(col)
        if pooled["count"] < least or name not in frame.columns:
            continue
        if frame[name].notna().sum() < least:
            continue
        low = pooled["low_log"]
        exps.append(
            gxe.ExpectColumnQuantileValuesToBeBetween(
                column=name,
                quantile_ranges={
                    "quantiles": [history.NONZERO_QUANTILE],
                    "value_ranges": [[low - math.log(factor), low + math.log(factor)]],
                },
                allow_relative_error=0.0,
                meta={"check": "nonzero_scale", "column": col, "factor": factor},
            )
        )
    return exps


def _missing_alone_expectations(frame: pd.DataFrame, contract: Contract, profile: dict) -> list:
    """Each nullable column empty at most as often as history's emptiest day or its group
    today (the columns that go empty with it), plus `null_share_margin`: one column of a
    joined source going empty while its siblings are filled."""
    import great_expectations.expectations as gxe

    margin = contract.history["null_share_margin"]
    if margin is None:
        return []
    groups = contract.history["missing_together"]
    empty = frame.isna().mean() if len(frame) else None  # each column's empty share, once
    exps = []
    for col, shares in (profile.get("null_shares") or {}).items():
        if col not in frame.columns or not shares or empty is None:
            continue
        siblings = [c for g in groups.values() if col in g for c in g if c != col]
        today = [float(empty[c]) for c in siblings if c in frame.columns]
        group_share = statistics.median(today) if today else 0.0
        allowed = max(max(shares), group_share) + float(margin)
        if allowed < 1.0:
            exps.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=col,
                    mostly=1.0 - allowed,
                    meta={
                        "check": "missing_alone",
                        "history_max": max(shares),
                        "group_share": group_share if today else None,
                        "days": len(shares),
                    },
                )
            )
    return exps


def _new_category_expectations(frame: pd.DataFrame, profile: dict, rules: dict) -> list:
    """At most the allowed share of text values never seen in accepted history."""
    import great_expectations.expectations as gxe

    exps = []
    new_share = float(rules["max_new_category_share"])
    for col, known in profile["categories"].items():
        if known and col in frame.columns and new_share < 1.0 and _dtype_fits(frame[col], "string"):
            exps.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=col,
                    value_set=known,
                    mostly=1.0 - new_share,
                    meta={"check": "new_categories"},
                )
            )
    return exps


def _positive_rate_expectations(
    frame: pd.DataFrame, profile: dict, rules: dict, label: str | None
) -> list:
    """For an outcomes feed: the label's positive rate within its history band."""
    import great_expectations.expectations as gxe

    if not (label and profile.get("positive_rate") and label in frame.columns):
        return []
    low = history.band(
        profile["positive_rate"], float(rules["positive_rate_margin"]), relative=True
    )[0]
    high = history.band(profile["positive_rate"], float(rules["positive_rate_upper_margin"]))[1]
    return [
        gxe.ExpectColumnMeanToBeBetween(
            column=label,
            min_value=low,
            max_value=min(1.0, high),
            meta={"check": "positive_rate"},
        )
    ]


def _column_expectations(series: pd.Series, rule: ColumnRule, contract: Contract) -> list:
    import great_expectations.expectations as gxe

    col = rule.name
    all_null = bool(series.isna().all())
    out = []
    if not (rule.nullable and all_null):
        out.append(
            gxe.ExpectColumnValuesToBeInTypeList(column=col, type_list=TYPE_LISTS[rule.type])
        )
    if rule.nullable:
        share = rule.max_null_share if rule.max_null_share is not None else contract.max_null_share
        if share < 1.0:  # a column allowed to be wholly empty needs no null check
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=col, mostly=1.0 - share, meta={"check": "null_share"}
                )
            )
    else:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=col))
    if all_null or not _dtype_fits(series, rule.type):
        return out  # value checks on the wrong type would only repeat the type failure
    if rule.min is not None or rule.max is not None:
        out.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=col, min_value=rule.min, max_value=rule.max, mostly=rule.mostly
            )
        )
    if rule.allowed is not None:
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=col, value_set=list(rule.allowed), mostly=rule.mostly
            )
        )
    if rule.pattern is not None:
        out.append(
            gxe.ExpectColumnValuesToMatchRegex(column=col, regex=rule.pattern, mostly=rule.mostly)
        )
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


def run_suite(
    frame: pd.DataFrame, expectations: list, suite_name: str, result_format: str = "SUMMARY"
):
    """Run the expectations on the frame as one GX suite."""
    import great_expectations as gx

    _, batch_definition = _gx_batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(
        gx.ExpectationSuite(name=suite_name, expectations=expectations), result_format=result_format
    )


def _num(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def _pct(value) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) else str(value)


@dataclass(frozen=True)
class _Failed:
    """What a failed GX expectation result says, read once for the describers below."""

    type: str  # the GX expectation type, e.g. expect_column_values_to_be_between
    kind: str  # the gate's check name (meta "check"), else the type without expect_
    kw: dict  # the expectation's arguments
    meta: dict
    col: str | None
    res: dict  # the result's details
    where: str  # "column 'x'" or "the table"
    bad: str  # "N value(s) (P%)", or "" when GX did not count them
    count: int | None
    pct: float | None
    sample_txt: str  # up to five distinct unexpected values


def _failed(result) -> _Failed:
    """Read a failed GX result: the check, its arguments, the unexpected values and counts."""
    cfg = result.expectation_config
    kw = cfg.kwargs
    col = kw.get("column")
    res = result.result or {}
    kind = (cfg.meta or {}).get("check") or cfg.type.replace("expect_", "")
    sample = res.get("partial_unexpected_list") or []
    sample_txt = ", ".join(repr(v) for v in list(dict.fromkeys(map(str, sample)))[:5])
    count, pct = res.get("unexpected_count"), res.get("unexpected_percent")
    if pct is None and count is not None and res.get("element_count"):
        pct = 100.0 * count / res["element_count"]
    bad = f"{count} value(s) ({pct:.1f}%)" if count is not None and pct is not None else ""
    where = f"column {col!r}" if col else "the table"
    return _Failed(cfg.type, kind, kw, cfg.meta or {}, col, res, where, bad, count, pct, sample_txt)


def _describe(result) -> Failure:
    """Turn one failed GX expectation result into a readable failure."""
    f = _failed(result)
    if result.exception_info and result.exception_info.get("raised_exception"):
        msg = result.exception_info.get("exception_message")
        return Failure(
            f.kind,
            f.col,
            "the check to run",
            f"error: {msg}",
            f"{f.where}: the check {f.type} could not run: {msg}",
        )
    if f.type == "expect_table_columns_to_match_set":
        return _describe_columns(f)
    describe = _DESCRIBE_CHECK.get(f.kind) or _DESCRIBE_TYPE.get(f.type)
    if describe is not None:
        return describe(f)
    return Failure(
        f.kind,
        f.col,
        str(f.kw),
        str(f.res.get("observed_value")),
        f"{f.where}: {f.type} failed ({f.res}).",
    )


def _describe_columns(f: _Failed) -> Failure:
    """The file's columns are not the contract's: which are missing, which unexpected."""
    observed = f.res.get("observed_value") or []
    details = f.res.get("details", {}).get("mismatched", {})
    missing, unexpected = details.get("missing", []), details.get("unexpected", [])
    parts = []
    if missing:
        parts.append(f"missing {', '.join(map(str, missing))}")
    if unexpected:
        parts.append(f"unexpected {', '.join(map(str, unexpected))}")
    return Failure(
        "columns",
        None,
        f"columns {', '.join(f.kw['column_set'])}",
        ", ".join(parts) or ", ".join(observed),
        f"the columns do not match the contract: {'; '.join(parts) or 'different set'}.",
    )


def _describe_label_coverage(f: _Failed) -> Failure:
    """Too few outcome rows for the day's feature rows."""
    rows = f.meta.get("features_rows")
    observed = f.res.get("observed_value")
    return Failure(
        "label_coverage",
        None,
        f"outcomes for at least {f.kw.get('min_value')} of the {rows} feature rows",
        f"{observed} outcome rows",
        f"label coverage: {observed} outcomes for the day's {rows} feature rows; "
        "the labels may be late or cut.",
    )


def _describe_label_missing(f: _Failed) -> Failure:
    """The label's outcome column empty on too many rows (they all took `missing`)."""
    allowed = 1 - f.kw.get("mostly", 1)
    return Failure(
        "label_missing",
        f.col,
        f"at most {allowed:.0%} of the rows without an outcome",
        f.bad,
        f"the label {f.meta.get('label')!r} took its `missing` value "
        f"({f.meta.get('missing')}) on {f.bad} of the rows, its outcome column {f.col!r} being "
        f"empty; at most {allowed:.0%} allowed: a label outage?",
    )


def _describe_label_constant(f: _Failed) -> Failure:
    """The day's label is one value on every row."""
    return Failure(
        "label_constant",
        f.col,
        "at least two label values in the day",
        f"every row is {f.meta.get('value')}",
        f"the label {f.col!r} is {f.meta.get('value')} on every row of the day: a label "
        "outage, or a label rule that cannot match the feed's values (e.g. 'YES' and 'Yes')? "
        "A model that can have such days sets label.reject_constant_day: false.",
    )


def _describe_distribution(f: _Failed) -> Failure:
    """A column's daily mean outside the band of the accepted days."""
    low, high = f.kw["min_value"], f.kw["max_value"]
    mean = _num(f.res.get("observed_value"))
    return Failure(
        "distribution",
        f.col,
        f"daily mean between {low:.4g} and {high:.4g}",
        f"mean {mean}",
        f"{f.where}: the day's mean {mean} is outside what {f.meta.get('days')} "
        f"accepted days allow ({low:.4g} to {high:.4g}); a unit or scale change upstream?",
    )


def _slice_and_share(f: _Failed) -> tuple[str, str]:
    """How a slice check names its slice value ("<column> = '<value>'") and the day's share."""
    return f"{f.meta.get('slice')} = {f.meta.get('value')!r}", _pct(f.res.get("observed_value"))


def _describe_slice_volume(f: _Failed) -> Failure:
    """A slice value's share of the rows outside its history band."""
    low, high = f.kw["min_value"], f.kw["max_value"]
    the_slice, share = _slice_and_share(f)
    return Failure(
        "slice_volume",
        f.meta.get("slice"),
        f"{the_slice}: share between {low:.1%} and {high:.1%}",
        f"{share}",
        f"slice {the_slice} is {share} of the rows; history allows {low:.1%} to {high:.1%}: "
        "part of the traffic is missing or doubled.",
    )


def _describe_slice_weekday(f: _Failed) -> Failure:
    """A slice value's share far under its median on the same weekday."""
    low, median = f.kw["min_value"], f.meta.get("median")
    the_slice, share = _slice_and_share(f)
    return Failure(
        "slice_weekday",
        f.meta.get("slice"),
        f"{the_slice}: share at least {low:.1%}",
        f"{share}",
        f"slice {the_slice} is {share} of the rows; on {f.meta.get('weekday')}s history's median "
        f"is {_pct(median)} and at least {low:.1%} is expected: most of this slice's rows are "
        "missing while the day's total still passes.",
    )


def _describe_nonzero_scale(f: _Failed) -> Failure:
    """The non-zero values of a zero-inflated column on another scale than history's."""
    col, factor = f.meta.get("column"), f.meta.get("factor")
    low, high = f.kw["quantile_ranges"]["value_ranges"][0]
    expected = math.exp((low + high) / 2)
    values = (f.res.get("observed_value") or {}).get("values") or [None]
    seen = _num(math.exp(values[0])) if isinstance(values[0], (int, float)) else str(values[0])
    return Failure(
        "nonzero_scale",
        col,
        f"lower decile of the non-zero values within x/÷ {_num(factor)} of {_num(expected)}",
        f"lower decile {seen}",
        f"column {col!r}: the lightest tenth of its non-zero values reach {seen}, history's "
        f"{_num(expected)} (at most {_num(factor)} times more or less allowed): a unit change "
        "upstream (millimetres for inches?) while the zeros stay zeros?",
    )


def _describe_missing_alone(f: _Failed) -> Failure:
    """A nullable column empty far more often than in history and than its group today."""
    allowed = 1 - f.kw.get("mostly", 1)
    group = f.meta.get("group_share")
    beside = (
        f" while the columns that go empty with it are {group:.0%} empty"
        if group is not None
        else ""
    )
    return Failure(
        "missing_alone",
        f.col,
        f"at most {allowed:.0%} empty",
        f"{f.pct:.1f}% empty",
        f"{f.where} is {f.pct:.1f}% empty{beside}; in {f.meta.get('days')} accepted days it "
        f"was at most {f.meta.get('history_max', 0):.0%} empty: one column of its source is "
        "missing (a broken join or a dropped field upstream).",
    )


def _describe_positive_rate(f: _Failed) -> Failure:
    """The label's positive rate outside its history band."""
    low, high = f.kw["min_value"], f.kw["max_value"]
    rate = _pct(f.res.get("observed_value"))
    return Failure(
        "positive_rate",
        f.col,
        f"between {low:.1%} and {high:.1%}",
        f"{rate}",
        f"the positive rate of {f.col!r} is {rate}; history allows "
        f"{low:.1%} to {high:.1%}: a label outage or a changed label rule?",
    )


def _describe_new_categories(f: _Failed) -> Failure:
    """Too many values never seen in accepted history."""
    return Failure(
        "new_categories",
        f.col,
        f"at most {1 - f.kw.get('mostly', 1):.0%} values never seen in history",
        f"{f.bad}: {f.sample_txt}",
        f"{f.where}: {f.bad} were never seen in accepted history, e.g. {f.sample_txt}.",
    )


def _describe_relation(f: _Failed) -> Failure:
    """Rows where column A is not greater than (or equal to) column B."""
    rule = f"{f.kw['column_A']} >{'=' if f.kw.get('or_equal') else ''} {f.kw['column_B']}"
    return Failure(
        "relation",
        f.col or f.kw.get("column_A"),
        rule,
        f"{f.bad} violate it",
        f"{rule} fails on {f.bad}, which is physically impossible: a unit change in one of them?",
    )


def _describe_timestamp_in_day(f: _Failed) -> Failure:
    """Timestamps on another local date than the partition's."""
    return Failure(
        "timestamp_in_day",
        f.meta.get("column"),
        f"local date {f.kw['value_set'][0]} ({f.meta.get('timezone')})",
        f"{f.bad} on other dates: {f.sample_txt}",
        f"column {f.meta.get('column')!r}: {f.bad} fall on another local date than the partition "
        f"({f.sample_txt}); the file may be in the wrong date folder.",
    )


def _describe_row_count(f: _Failed) -> Failure:
    """A row count outside the band of the contract and the same weekday in history."""
    lo, hi = f.kw.get("min_value"), f.kw.get("max_value")
    band = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
    rows = f.res.get("observed_value")
    return Failure(
        "row_count",
        None,
        f"{band} rows",
        f"{rows} rows",
        f"row count {rows} is outside the allowed band ({band}, from the contract and the same "
        "weekday in history).",
    )


def _describe_type(f: _Failed) -> Failure:
    """A column of another type than the contract's."""
    return Failure(
        "type",
        f.col,
        " or ".join(f.kw["type_list"][:2]),
        str(f.res.get("observed_value")),
        f"{f.where} has type {f.res.get('observed_value')}, "
        f"the contract says {f.kw['type_list'][0]}.",
    )


def _describe_nulls(f: _Failed) -> Failure:
    """Empty cells: more than the allowed share, or any in a column that is never empty."""
    if f.kind == "null_share":
        allowed = 1 - f.kw.get("mostly", 1)
        return Failure(
            "null_share",
            f.col,
            f"at most {allowed:.0%} empty",
            f"{f.pct:.1f}% empty",
            f"{f.where} is {f.pct:.1f}% empty, more than the {allowed:.0%} the contract allows.",
        )
    return Failure(
        "not_null",
        f.col,
        "no empty cells",
        f"{f.count} empty cell(s)",
        f"{f.where} has {f.count} empty cell(s); the contract says it is never empty.",
    )


def _describe_range(f: _Failed) -> Failure:
    """Values outside the contract's [min, max]."""
    low, high = f.kw.get("min_value"), f.kw.get("max_value")
    return Failure(
        "range",
        f.col,
        f"between {low} and {high}",
        f"{f.bad}: {f.sample_txt}",
        f"{f.where}: {f.bad} outside [{low}, {high}], e.g. {f.sample_txt}.",
    )


def _describe_in_set(f: _Failed) -> Failure:
    """Values outside a set: another date than the partition's, or not an allowed value."""
    values = f.kw.get("value_set") or []
    shown = ", ".join(map(str, values[:8])) + (" ..." if len(values) > 8 else "")
    if f.kind == "partition_date":
        return Failure(
            "partition_date",
            f.col,
            f"{shown} (the partition date)",
            f"{f.bad}: {f.sample_txt}",
            f"{f.where}: {f.bad} belong to another date than the partition ({f.sample_txt}); "
            "the file may be in the wrong folder.",
        )
    return Failure(
        "allowed_values",
        f.col,
        f"one of {shown}",
        f"{f.bad}: {f.sample_txt}",
        f"{f.where}: {f.bad} not in the allowed values (case-sensitive), e.g. {f.sample_txt}.",
    )


def _describe_pattern(f: _Failed) -> Failure:
    """Values that do not match the contract's pattern."""
    return Failure(
        "pattern",
        f.col,
        f"matching {f.kw.get('regex')}",
        f"{f.bad}: {f.sample_txt}",
        f"{f.where}: {f.bad} do not match {f.kw.get('regex')}, e.g. {f.sample_txt}.",
    )


def _describe_unique(f: _Failed) -> Failure:
    """Duplicated values in a unique column."""
    return Failure(
        "unique",
        f.col,
        "unique values",
        f"{f.bad} duplicated: {f.sample_txt}",
        f"{f.where}: {f.bad} are duplicates, e.g. {f.sample_txt}; "
        "rows may have been delivered twice.",
    )


# The gate's own checks (meta "check"), looked up before the GX expectation type.
_DESCRIBE_CHECK = {
    "label_coverage": _describe_label_coverage,
    "label_missing": _describe_label_missing,
    "label_constant": _describe_label_constant,
    "distribution": _describe_distribution,
    "slice_volume": _describe_slice_volume,
    "slice_weekday": _describe_slice_weekday,
    "nonzero_scale": _describe_nonzero_scale,
    "missing_alone": _describe_missing_alone,
    "positive_rate": _describe_positive_rate,
    "new_categories": _describe_new_categories,
    "relation": _describe_relation,
    "timestamp_in_day": _describe_timestamp_in_day,
}
_DESCRIBE_TYPE = {
    "expect_table_row_count_to_be_between": _describe_row_count,
    "expect_column_values_to_be_in_type_list": _describe_type,
    "expect_column_values_to_not_be_null": _describe_nulls,
    "expect_column_values_to_be_between": _describe_range,
    "expect_column_values_to_be_in_set": _describe_in_set,
    "expect_column_values_to_match_regex": _describe_pattern,
    "expect_column_values_to_be_unique": _describe_unique,
}


def normalise_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns the NA-aware `StringDtype()` that GX's type checks recognise
    (pandas 3 reads text as `str`, which GX 1.24 does not match to any type name)."""
    text = [
        c
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.StringDtype) and frame[c].dtype.na_value is not pd.NA
    ]
    return frame.astype({c: pd.StringDtype() for c in text}) if text else frame


FIRST_CHECKS = (
    "readable",
    "encoding",
    "columns",
    "type",
    "row_count",
    "partition_date",
    "timestamp_in_day",
)


SLICE_CHECKS = {
    "slice_volume": "out of their history bands: {}; part of the traffic is missing or doubled.",
    "slice_weekday": "far under their share on the same weekday: {}; most of their rows are "
    "missing.",
}


def _merge_slices(failures: list[Failure]) -> list[Failure]:
    """One failure per slice check and column, naming every value out of its band; a value
    out of its band needs no second word for being under its weekday share."""
    banded = {f.expected.split(":")[0] for f in failures if f.check == "slice_volume"}
    failures = [
        f for f in failures if f.check != "slice_weekday" or f.expected.split(":")[0] not in banded
    ]
    slices: dict[tuple[str, str], list[Failure]] = {}
    for f in failures:
        if f.check in SLICE_CHECKS:
            slices.setdefault((f.check, f.column), []).append(f)
    merged = [f for f in failures if f.check not in SLICE_CHECKS]
    for (check, column), group in slices.items():
        if len(group) == 1:
            merged.extend(group)
            continue
        parts = [f"{f.expected.split(':')[0].split(' = ', 1)[1]} at {f.observed}" for f in group]
        merged.append(
            Failure(
                check,
                column,
                "; ".join(f.expected for f in group),
                "; ".join(parts),
                f"slices of {column} " + SLICE_CHECKS[check].format(", ".join(parts)),
            )
        )
    return merged


def _failure_rank(failure: Failure) -> int:
    """Structural failures first: they explain the others."""
    return FIRST_CHECKS.index(failure.check) if failure.check in FIRST_CHECKS else len(FIRST_CHECKS)


def validate_frame(
    frame: pd.DataFrame, contract: Contract, inputs: GateInputs, suite_name: str = "mlgate"
) -> GateResult:
    """Run the contract's suite on a parsed partition."""
    batch, added = prepare(frame, contract, inputs)
    expectations = build_expectations(batch, contract, inputs, added)
    # verdicts first (cheap); the failed expectations again with their details (rare)
    result = run_suite(batch, expectations, suite_name, "BOOLEAN_ONLY")
    failed = [r.expectation_config.to_domain_obj() for r in result.results if not r.success]
    if failed:
        detailed = iter(run_suite(batch, failed, suite_name, "SUMMARY").results)
        result.results = [r if r.success else next(detailed) for r in result.results]
    failures = sorted(
        _merge_slices([_describe(r) for r in result.results if not r.success]), key=_failure_rank
    )
    notes = []
    if inputs.label and not inputs.expected_rows and contract.history["min_coverage"]:
        notes.append("label coverage not checked: no validated features partition for this day")
    if contract.history and not _history_ready(contract, inputs.history):
        days = len(inputs.history["days"]) if inputs.history else 0
        min_days = contract.history["min_days"]
        notes.append(
            f"history checks skipped: {days} accepted day(s), the contract needs {min_days}"
        )
    return GateResult(
        success=not failures,
        ds=inputs.ds,
        rows=int(len(frame)),
        failures=failures,
        notes=notes,
        gx_result=result,
    )


def data_docs_page(result: GateResult) -> bytes | None:
    """The GX Data Docs page of a validation (None when the file could not be read)."""
    if result.gx_result is None:
        return None
    import numpy as np
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    for item in result.gx_result.results:  # GX 1.24's renderer rejects numpy scalars (num_to_str)
        observed = (item.result or {}).get("observed_value")
        if isinstance(observed, np.generic):
            item.result["observed_value"] = observed.item()
    return (
        DefaultJinjaPageView()
        .render(ValidationResultsPageRenderer().render(result.gx_result))
        .encode()
    )


def validate_bytes(
    data: bytes,
    filename: str,
    contract: Contract,
    inputs: GateInputs,
    suite_name: str = "mlgate",
    derive=None,
) -> tuple[GateResult, pd.DataFrame | None]:
    """Read and validate one delivered file; returns the result and the parsed frame.
    `derive(frame)` may add columns the gate checks (e.g. the label of an outcomes feed)."""
    frame, failure = read_partition(data, filename)
    if failure is not None:
        return GateResult(success=False, ds=inputs.ds, rows=0, failures=[failure]), None
    if derive is not None:
        frame = derive(frame)
    return validate_frame(frame, contract, inputs, suite_name), frame
