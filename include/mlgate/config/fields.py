"""Every section and field of a spec, declared once: its type, its default, its range and
what it means. The loader (`mlgate.config.spec`) checks a YAML file against this and fills
the defaults, so the code reads `spec.section(...)[field]` and holds no threshold of its
own; `mlgate spec schema` prints it as a JSON Schema for editors.

A field without a default (`REQUIRED`) must be written; `None` as a default means "off".
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field

REQUIRED = object()  # the marker of a field that has no default


@dataclass(frozen=True)
class Field:
    """One value: `kind` is int, number, bool, text, date, names (a list of text), value
    (text, number or a list of them) or mapping (free keys, e.g. XGBoost's params)."""

    kind: str
    default: object = REQUIRED
    doc: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None


@dataclass(frozen=True)
class Section:
    """A mapping with known keys. It may be left out when none of its fields is required."""

    fields: dict
    doc: str = ""


@dataclass(frozen=True)
class MapOf:
    """A mapping whose keys the user names (contract columns, derived features)."""

    item: object
    doc: str = ""
    default: object = field(default_factory=dict)


@dataclass(frozen=True)
class ListOf:
    """A list of sections (the contract's relations)."""

    item: Section
    doc: str = ""


class FieldError(ValueError):
    """A field is wrong: `where` names it, `problem` says what, `fix` what to write;
    `errors` holds every wrong field found (this one first)."""

    def __init__(self, where: str, problem: str, fix: str):
        super().__init__(f"{where}: {problem}. {fix}")
        self.where, self.problem, self.fix = where, problem, fix
        self.errors = [self]

    @classmethod
    def group(cls, errors: list) -> "FieldError":
        """One error standing for several (the first's message, all in `errors`)."""
        first = errors[0]
        grouped = cls(first.where, first.problem, first.fix)
        grouped.errors = errors
        return grouped


def Int(default=REQUIRED, doc="", low=None, high=None) -> Field:
    return Field("int", default, doc, low, high)


def Num(default=REQUIRED, doc="", low=None, high=None) -> Field:
    return Field("number", default, doc, low, high)


def Share(default=REQUIRED, doc="") -> Field:
    return Field("number", default, doc, 0, 1)


def Bool(default=REQUIRED, doc="") -> Field:
    return Field("bool", default, doc)


def Text(default=REQUIRED, doc="", choices=None) -> Field:
    return Field("text", default, doc, choices=choices)


def Names(default=REQUIRED, doc="") -> Field:
    return Field("names", default, doc)


TASKS = ("binary", "regression")
ENGINES = ("local", "dask")  # where training runs (training.engine)
OBJECTIVE_PREFIX = {"binary": "binary:", "regression": "reg:"}  # XGBoost objectives of a task
DEFAULT_OBJECTIVE = {"binary": "binary:logistic", "regression": "reg:squarederror"}
LABEL_MISSING_DROP = "drop"  # regression: rows whose outcome is empty are left out
COLUMN_TYPES = ("int", "float", "string")
LABEL_OPS = (">", ">=", "<", "<=", "==", "!=", "in")
PROMOTION_RULES = ("better", "non_inferior")
DERIVED_KINDS = ("day_of_week", "day_of_year", "hour_of_day")

COLUMN_RULE = Section(
    {
        "type": Text(doc="int, float or string", choices=COLUMN_TYPES),
        "nullable": Bool(False, "empty cells allowed"),
        "unique": Bool(False, "no value twice in a partition"),
        "min": Num(None, "smallest allowed value"),
        "max": Num(None, "largest allowed value"),
        "mostly": Share(1.0, "share of rows that must meet min/max/allowed/pattern"),
        "allowed": Field("value", None, "the only values allowed (a list)"),
        "pattern": Text(None, "a regular expression every value matches"),
        "max_null_share": Share(
            None, "nullable columns: at most this share empty; else the feed's"
        ),
    },
    "the rules of one column",
)

HISTORY = Section(
    {
        "days": Int(28, "how many accepted days make the history", 1, 3660),
        "min_days": Int(7, "fewer accepted days: the history checks wait (the result says so)", 0),
        "distribution_columns": Names([], "numeric columns whose daily mean is judged"),
        "numeric_margin": Num(
            0.5, "daily mean within [min, max] of history's means, widened by this x range", 0
        ),
        "slice_margin": Num(
            0.5, "each slice value's share within [min x (1 - m), max x (1 + m)] of history's", 0
        ),
        "slice_min_share": Share(0.02, "slice values rarer than this in history are not judged"),
        "slice_weekday_ratio": Share(
            None,
            "each judged slice value's share at least this x its median share on the same "
            "weekday in history (a slice losing most of its rows); null: not judged",
        ),
        "nonzero_columns": Names(
            [], "zero-inflated numeric columns whose non-zero values' lower decile is judged"
        ),
        "nonzero_factor": Num(
            15, "that lower decile within history's divided or multiplied by this", 1
        ),
        "nonzero_min_values": Int(
            50, "fewer non-zero values in the day or in history: not judged", 1
        ),
        "missing_together": MapOf(
            Names(doc="columns of one upstream source"),
            "groups of columns that go empty together (the columns a join brings in)",
        ),
        "null_share_margin": Share(
            None,
            "each nullable column's empty share at most the larger of history's largest and "
            "its group's median today, plus this; null: not judged",
        ),
        "new_category_columns": Names([], "text columns whose new values are counted"),
        "max_new_category_share": Share(1.0, "share of values never seen in history"),
        "min_coverage": Share(0.0, "outcomes: at least this share of the day's feature rows"),
        "positive_rate_margin": Num(
            0.5, "outcomes: the label's rate at least min x (1 - m) of history's", 0
        ),
        "positive_rate_upper_margin": Num(
            1.0, "outcomes: the label's rate at most max + this x history's range", 0
        ),
    },
    "bands drawn from the accepted days before the partition",
)

FEED_CONTRACT = Section(
    {
        "columns": MapOf(COLUMN_RULE, "every column of the feed with its rules", REQUIRED),
        "max_null_share": Share(1.0, "any nullable column: at most this share of empty cells"),
        "timestamp_in_day": Bool(False, "keys.timestamp falls in the partition's local day"),
        "relations": ListOf(
            Section(
                {
                    "a": Text(doc="a contract column"),
                    "op": Text(doc="a op b on each row", choices=(">=", ">")),
                    "b": Text(doc="a contract column"),
                    "mostly": Share(1.0, "share of rows that must hold it"),
                }
            ),
            "relations between two columns on each row (a unit change breaks them)",
        ),
        "row_count": Section(
            {
                "min": Int(1, "fewest rows a partition may have", 0),
                "min_ratio": Num(None, "at least this x the median of the same weekday", 0),
                "max_ratio": Num(10, "at most this x the median of the same weekday", 0),
            }
        ),
        "history": HISTORY,
    },
    "the gate's contract of one feed",
)

SCHEDULE = Section(
    {
        "start_date": Field("date", REQUIRED, "first logical date of the daily DAGs"),
        "delivery_delay_hours": Num(
            0, "the run for local day D starts at D+1 00:00 local + this (a duration)", 0, 24 * 14
        ),
        "train_cron": Text("0 6 1 * *", "scheduled retraining (local time), besides requests"),
        "retries": Int(2, "tries after a task's first failure (rollback: never retried)", 0, 20),
        "retry_delay_minutes": Num(2, "wait between two tries", 0.01),
        "sensor_poke_minutes": Num(1, "how often ingest and score look for their partition", 0.01),
        "sensor_timeout_minutes": Num(360, "how long they wait for it", 1),
    },
    "when the daily DAGs run, in keys.timezone",
)

LABEL = Section(
    {
        "name": Text(doc="the label column mlgate writes"),
        "column": Text(doc="the outcomes feed's column the label comes from"),
        "op": Text(None, "binary: the rule `column op value`", LABEL_OPS),
        "value": Field("value", None, "binary: a number, a text, or a list for `in`"),
        "missing": Field(
            "value",
            REQUIRED,
            "a row whose outcome is empty: binary 0 or 1; regression `drop` (left out) or a number",
        ),
        "max_missing_share": Share(0.5, "a day with more rows taking `missing` is an outage"),
        "reject_constant_day": Bool(True, "a day whose label is one value on every row fails"),
    },
    "how the label is derived from the outcomes feed",
)

FEATURES = Section(
    {
        "numeric": Names([], "number columns"),
        "categorical": Names([], "columns of categories (text or integer codes)"),
        "derived": MapOf(
            Text(choices=DERIVED_KINDS), "name: kind, from keys.timestamp in local time"
        ),
    },
)

TRAINING = Section(
    {
        "window_days": Int(56, "validated, labelled days before the evaluation days", 1),
        "min_days": Int(14, "fewer labelled days: the run stops and says so", 1),
        "max_data_age_days": Int(
            14,
            "the newest labelled day at most this many days before the run's day; older "
            "(a run dated today on old data): the run fails and says so, nothing is registered",
            0,
        ),
        "engine": Text(
            "local",
            "where XGBoost trains: local (in the task's process) or dask (xgboost.dask on the "
            "Dask cluster whose scheduler MLGATE_DASK_SCHEDULER names; its workers read the lake)",
            ENGINES,
        ),
        "seed": Int(42, "XGBoost's seed"),
        "num_boost_round": Int(400, "most boosting rounds", 1),
        "early_stopping_rounds": Int(30, "rounds without improvement before stopping", 1),
        "validation_share": Share(0.15, "last days of the window, for early stopping"),
        "params": Field(
            "mapping",
            {},
            "XGBoost parameters (objective: binary:logistic or reg:squarederror by task)",
        ),
    },
)

EVALUATION = Section(
    {
        "golden_days": Field("dates", [], "days held out of every window and always evaluated"),
        "recent_days": Int(7, "most recent labelled days, held out and evaluated", 1),
        "confidence": Num(0.95, "level of every interval", 0.5, 0.999),
        "bootstrap_rounds": Int(1000, "paired bootstrap rounds of the log-loss difference", 100),
        "bootstrap_max_rows": Int(
            200_000,
            "above this many evaluation rows the log-loss difference's interval comes from the "
            "CLT (mean ± z·sd/√n of the paired per-row differences), not the bootstrap",
            1000,
        ),
        "first_model": Section(
            {
                "min_auc": Share(0.5, "binary: the AUC interval's lower bound"),
                "min_rmse_reduction": Num(
                    0.0,
                    "regression: the RMSE change against predicting the mean has its upper "
                    "bound below -this x the constant's RMSE",
                    -1,
                    1,
                ),
            }
        ),
        "promotion": Section(
            {
                "rule": Text("non_inferior", "better or non_inferior", PROMOTION_RULES),
                "min_auc_gain": Num(0.0, "rule better: the AUC gain's lower bound above this"),
                "auc_margin": Share(0.01, "rule non_inferior: AUC change's lower bound > -this"),
                "max_logloss_increase": Num(0.002, "the log-loss increase's upper bound", 0),
                "min_auc": Share(0.5, "never promote below this ..."),
                "below_floor": Text(
                    "ask",
                    "... unless the champion is below it too and worse on the same rows: "
                    "promote, ask (a person or live evidence) or refuse",
                    ("promote", "ask", "refuse"),
                ),
                "min_rows": Int(1000, "fewer evaluation rows: refuse", 1),
                "min_rmse_gain": Num(
                    0.0, "regression, rule better: RMSE change's upper bound < -this x champion's"
                ),
                "rmse_margin": Num(
                    0.01, "regression, rule non_inferior: the margin as a share of champion RMSE", 0
                ),
                "max_mae_increase": Num(
                    0.02, "regression: allowed MAE increase, as a share of the champion's MAE", 0
                ),
            }
        ),
        "slices": Section(
            {
                "min_rows": Int(200, "smaller slices are reported, not judged", 1),
                "max_auc_drop": Share(0.02, "a slice regresses when its AUC falls more ..."),
                "max_rmse_increase": Num(
                    0.05,
                    "regression: a slice regresses when its RMSE rises by this share ...",
                    0,
                    10,
                ),
                "alpha": Num(0.05, "... significantly, after Holm's correction", 1e-6, 0.5),
            }
        ),
        "sanity": Section(
            {
                "max_calibration_factor": Num(3, "mean prediction within this x observed rate", 1),
                "batch_rows": Int(1000, "latency: batches of this size", 1),
                "batches": Int(10, "latency: p95 over up to this many batches", 1),
                "max_p95_ms": Num(2000, "latency: p95 of a batch at most this", 0),
                "max_model_mb": Num(50, "the model's size at most this", 0),
                "max_feature_lost_share": Share(
                    0.2, "a feature present in the rows but missing in the matrix on more rows"
                ),
                "max_single_feature_auc": Share(0.9, "leakage: no feature ranks the label so well"),
                "leakage_max_rows": Int(
                    200_000,
                    "leakage is measured on a seeded sample of this many evaluation rows when "
                    "there are more",
                    1000,
                ),
                "plausible_range": Field(
                    "range", None, "regression: every prediction within [low, high] (required)"
                ),
                "max_abs_bias": Num(
                    None, "regression: |mean prediction - mean label| at most this (required)", 0
                ),
                "max_single_feature_spearman": Share(
                    0.8, "regression leakage: no feature's |Spearman| with the label above this"
                ),
            }
        ),
        "approval": Section(
            {
                "ask": Bool(True, "the gray zone asks a person in Airflow (false: refuse)"),
                "timeout_minutes": Int(
                    1440, "no answer in time: live evidence settles it (evidence.settle)", 1
                ),
            }
        ),
        "evidence": Section(
            {
                "settle": Bool(
                    True,
                    "a gray-zone candidate nobody answered stays the challenger, scored in "
                    "shadow, until the monitor's paired live comparison settles it (false: "
                    "refused)",
                ),
                "min_rows": Int(
                    2000, "labelled live rows both models scored before evidence decides", 2
                ),
                "max_days": Int(
                    21, "a gray zone still unsettled this many days after its day: refused", 1
                ),
                "watch_days": Int(
                    14,
                    "after a promotion the previous champion is scored in shadow this long; "
                    "a new champion measurably worse live beyond the margin is rolled back "
                    "(0: no watch)",
                    0,
                    366,
                ),
            },
            "live labels decide: the gray zone, and the watch after a promotion",
        ),
    },
)

MONITORING = Section(
    {
        "window_days": Int(7, "current window for drift and live quality", 1, 366),
        "label_maturity_days": Int(2, "predictions younger are left out of live quality", 0, 366),
        "cooldown_days": Int(14, "no retrain request this soon after training", 0, 366),
        "drift": Section(
            {
                "bins": Int(10, "quantile bins per numeric feature", 2, 100),
                "false_alarm_rate": Num(
                    0.01, "chance an unshifted window is called drifted", 1e-6, 0.5
                ),
                "min_drifted_share": Share(
                    0.15, "share of importance drifted that is evidence for retraining"
                ),
                "min_rows": Int(1000, "fewer validated rows: drift is not judged", 1),
                "reference_rows": Int(
                    200_000,
                    "the drift reference profiles a seeded uniform sample of at most this many "
                    "rows of the training window (all rows of a smaller window)",
                    1000,
                ),
            }
        ),
        "integrity": Section(
            {"max_missing_increase": Share(0.3, "more missing than in training: a broken feed")}
        ),
        "live_quality": Section(
            {
                "max_auc_drop": Share(0.05, "live AUC's upper bound this far below evaluation"),
                "max_rmse_increase": Num(
                    0.25, "regression: live RMSE's lower bound above eval RMSE x (1 + this)", 0, 10
                ),
                "min_labelled_rows": Int(500, "fewer labelled rows: quality is not judged", 1),
                "min_coverage": Share(0.8, "labels must cover this share of mature predictions"),
                "min_slice_rows": Int(200, "slices with fewer labelled rows are not shown", 1),
            }
        ),
        "persistence": Section(
            {
                "k": Int(2, "evidence in k ...", 1, 100),
                "n": Int(3, "... of the last n monitor runs to request retraining", 1, 100),
            }
        ),
        "hindsight": Section(
            {
                "days": Int(
                    14,
                    "a decision is judged on the labelled days from its day on, this many",
                    1,
                    366,
                ),
                "min_rows": Int(500, "fewer labelled rows in those days: not judged yet", 2),
            },
            "every decision of the gate judged by the days after it (`mlgate decisions`)",
        ),
    },
)

SPEC = Section(
    {
        "model": Text(doc="registered model and experiment name ([a-z][a-z0-9_]*)"),
        "description": Text("", "what the model predicts, for people"),
        "owner": Text("", "who answers for it"),
        "task": Text("binary", "binary or regression", TASKS),
        "schedule": SCHEDULE,
        "source": Section(
            {
                "features": Section(
                    {"feed": Text(doc="landing feed name"), "file": Text(doc="file name")},
                ),
                "outcomes": Section(
                    {
                        "feed": Text(doc="landing feed name"),
                        "file": Text(doc="file name"),
                        "delay_days": Int(1, "outcomes land this many days after the day", 0),
                    },
                ),
            },
        ),
        "keys": Section(
            {
                "id": Text(doc="the unique key of a row, shared by both feeds"),
                "timestamp": Text(doc="UTC instant of the row"),
                "timezone": Text("UTC", "IANA time zone of the partition dates"),
                "date_columns": MapOf(Text(), "columns that must equal the partition date"),
            },
        ),
        "label": LABEL,
        "features": FEATURES,
        "forbidden": Names([], "columns that must never be features (they leak the label)"),
        "slices": Names([], "columns whose values are evaluated and monitored separately"),
        "contract": Section({"features": FEED_CONTRACT, "outcomes": FEED_CONTRACT}),
        "training": TRAINING,
        "evaluation": EVALUATION,
        "monitoring": MONITORING,
    }
)


# ---- checking a spec against the declaration ---------------------------------
def is_required(node) -> bool:
    """A field without a default, or a section or mapping holding one."""
    if isinstance(node, Section):
        return any(is_required(f) for f in node.fields.values())
    return getattr(node, "default", None) is REQUIRED


def normalize(node, value, where: str = ""):
    """`value` checked against `node`, with every default filled in; raises FieldError
    naming every wrong field and what to write instead."""
    if isinstance(node, Section):
        return _normalize_section(node, value, where)
    if isinstance(node, MapOf):
        if not isinstance(value, dict):
            raise FieldError(where, f"got {value!r}", "Write a mapping of name: value.")
        items = [(str(k), node.item, v, _join(where, str(k))) for k, v in value.items()]
        return dict(_normalize_all(items))
    if isinstance(node, ListOf):
        if not isinstance(value, list):
            raise FieldError(where, f"got {value!r}", "Write a list.")
        items = [(i, node.item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return [v for _, v in _normalize_all(items)]
    return _normalize_value(node, value, where)


def _normalize_all(items: list) -> list:
    """Normalize (key, node, value, where) items, collecting every error before raising."""
    out, errors = [], []
    for key, node, value, where in items:
        try:
            out.append((key, normalize(node, value, where)))
        except FieldError as exc:
            errors.extend(exc.errors)
    if errors:
        raise FieldError.group(errors)
    return out


def _normalize_section(node: Section, value, where: str) -> dict:
    """Known keys only (the nearest valid name for a typo), required ones present."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise FieldError(where or "spec", f"got {value!r}", "Write a mapping of field: value.")
    errors = [
        FieldError(_join(where, str(key)), "unknown field", _nearest(key, node.fields))
        for key in value
        if key not in node.fields
    ]
    items, defaults = [], {}
    for key, child in node.fields.items():
        here = _join(where, key)
        if key in value:
            items.append((key, child, value[key], here))
        elif is_required(child):
            fix = f"Add it: {child.doc}." if getattr(child, "doc", "") else "Add it."
            errors.append(FieldError(here, "missing", fix))
        else:
            defaults[key] = _default_of(child, here)
    try:
        given = dict(_normalize_all(items))
    except FieldError as exc:
        errors.extend(exc.errors)
    if errors:
        raise FieldError.group(errors)
    return {key: given[key] if key in given else defaults[key] for key in node.fields}


def _default_of(node, where: str):
    """What a field left out holds: its default (None: off), a section's own defaults."""
    if isinstance(node, Section):
        return normalize(node, {}, where)
    if isinstance(node, ListOf):
        return []
    return copy.deepcopy(node.default)


def nearest_name(name, known) -> str | None:
    """The known name closest to a misspelled one (None when none is close)."""
    close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _nearest(key, known) -> str:
    close = nearest_name(key, known)
    return f"Did you mean {close!r}?" if close else f"Known fields: {', '.join(known)}."


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


_KIND_CHECKS = {
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "number": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "a number",
    ),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "text": (lambda v: isinstance(v, str), "a text (quote it)"),
    "names": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "a list of names",
    ),
    "mapping": (lambda v: isinstance(v, dict), "a mapping"),
    "value": (
        lambda v: isinstance(v, (str, int, float, list)) and not isinstance(v, bool),
        "a number, a text or a list",
    ),
    "range": (
        lambda v: (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            and v[0] < v[1]
        ),
        "[low, high], two numbers with low < high",
    ),
}


def _normalize_value(node: Field, value, where: str):
    """One value: its kind, its range, its choices; dates as YYYY-MM-DD text."""
    if value is None and node.default is None:
        return None
    if node.kind in ("date", "dates"):
        return _normalize_dates(node, value, where)
    check, wanted = _KIND_CHECKS[node.kind]
    if not check(value):
        raise FieldError(where, f"got {value!r}", f"Write {wanted}.")
    if node.choices is not None and value not in node.choices:
        raise FieldError(where, f"{value!r} unknown", f"Use one of {', '.join(node.choices)}.")
    low = -float("inf") if node.low is None else node.low
    high = float("inf") if node.high is None else node.high
    if node.kind in ("int", "number") and not low <= value <= high:
        raise FieldError(where, f"got {value!r}", f"Write a number from {low:g} to {high:g}.")
    return copy.deepcopy(value)


def _normalize_dates(node: Field, value, where: str):
    """A date (or a list of dates, kind `dates`) as YYYY-MM-DD text."""
    import datetime as dt

    values = value if node.kind == "dates" else [value]
    if not isinstance(values, list):
        raise FieldError(where, f"got {value!r}", "Write a list of dates (YYYY-MM-DD).")
    out = []
    for day in values:
        try:
            out.append(dt.date.fromisoformat(str(day)).isoformat())
        except ValueError:
            raise FieldError(
                where, f"{day!r} is not a date", "Write dates as YYYY-MM-DD."
            ) from None
    return out if node.kind == "dates" else out[0]


# ---- the declaration as a JSON Schema -----------------------------------------
_JSON_TYPES = {
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "text": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "dates": {"type": "array", "items": {"type": "string", "format": "date"}},
    "names": {"type": "array", "items": {"type": "string"}},
    "mapping": {"type": "object"},
    "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "value": {
        "anyOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "array", "items": {"type": ["string", "number"]}},
        ]
    },
}


def json_schema(node=SPEC) -> dict:
    """The declaration as a JSON Schema (draft 2020-12), with every default and meaning."""
    if isinstance(node, Section):
        out = {
            "type": "object",
            "properties": {k: json_schema(v) for k, v in node.fields.items()},
            "additionalProperties": False,
        }
        required = [k for k, v in node.fields.items() if is_required(v)]
        out.update({"required": required} if required else {})
    elif isinstance(node, MapOf):
        out = {"type": "object", "additionalProperties": json_schema(node.item)}
    elif isinstance(node, ListOf):
        out = {"type": "array", "items": json_schema(node.item)}
    else:
        out = dict(_JSON_TYPES[node.kind])
        if node.default is None:
            out = {"anyOf": [out, {"type": "null"}]}
        elif node.default is not REQUIRED:
            out["default"] = node.default
        out.update({"enum": list(node.choices)} if node.choices else {})
        out.update({"minimum": node.low} if node.low is not None else {})
        out.update({"maximum": node.high} if node.high is not None else {})
    if getattr(node, "doc", ""):
        out["description"] = node.doc
    return out
