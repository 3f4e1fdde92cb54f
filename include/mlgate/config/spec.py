"""Model specs: one YAML file per model in the specs folder, loaded and checked.

A spec error names the file, the field and what to write instead. The loaded spec keeps
the YAML's structure (`spec.raw`) and exposes the parts the code uses as attributes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlgate.config.settings import load_settings

COLUMN_TYPES = ("int", "float", "string")
LABEL_OPS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}
PROMOTION_RULES = ("better", "non_inferior")
TASKS = ("binary", "regression")  # `task` absent: binary
LABEL_MISSING_DROP = "drop"  # regression: rows whose outcome is empty are left out
# per task: the promotion numbers every rule needs, each rule's own margin, and the prefix
# of the XGBoost objectives that fit it
TASK_NUMBERS = {
    "binary": {
        "evaluation.promotion": ("max_logloss_increase", "min_auc", "min_rows"),
        "margins": {"better": "min_auc_gain", "non_inferior": "auc_margin"},
        "objective": "binary:",
    },
    "regression": {
        "evaluation.promotion": ("max_mae_increase", "min_rows"),
        "margins": {"better": "min_rmse_gain", "non_inferior": "rmse_margin"},
        "objective": "reg:",
    },
}
DERIVED_KINDS = ("day_of_week", "day_of_year", "hour_of_day")
HISTORY_KEYS = {
    "days",
    "min_days",
    "distribution_columns",
    "numeric_margin",
    "slice_margin",
    "slice_min_share",
    "new_category_columns",
    "max_new_category_share",
    "min_coverage",
    "positive_rate_margin",
    "positive_rate_upper_margin",
}
CONTRACT_KEYS = {
    "columns",
    "max_null_share",
    "row_count",
    "history",
    "relations",
    "timestamp_in_day",
}
MONITORING_NUMBERS = (  # field, lowest, highest
    ("window_days", 1, 366),
    ("label_maturity_days", 0, 366),
    ("cooldown_days", 0, 366),
    ("drift.bins", 2, 100),
    ("drift.false_alarm_rate", 1e-6, 0.5),
    ("drift.min_drifted_share", 0, 1),
    ("drift.min_rows", 1, 10**9),
    ("integrity.max_missing_increase", 0, 1),
    ("live_quality.min_labelled_rows", 1, 10**9),
    ("live_quality.min_coverage", 0, 1),
    ("live_quality.min_slice_rows", 1, 10**9),
    ("persistence.k", 1, 100),
    ("persistence.n", 1, 100),
)
REQUIRED_SECTIONS = (
    "model",
    "schedule",
    "source",
    "keys",
    "label",
    "features",
    "forbidden",
    "contract",
    "training",
    "evaluation",
    "monitoring",
)
KNOWN_SECTIONS = set(REQUIRED_SECTIONS) | {"description", "owner", "slices", "task"}
TASK_ONLY_NUMBERS = {  # the thresholds only one task has: field, lowest, highest
    "binary": (("monitoring.live_quality.max_auc_drop", 0, 1),),
    "regression": (
        ("evaluation.first_model.min_rmse_reduction", -1, 1),
        ("evaluation.slices.max_rmse_increase", 0, 10),
        ("evaluation.sanity.max_abs_bias", 0, 1e12),
        ("evaluation.sanity.max_single_feature_spearman", 0, 1),
        ("monitoring.live_quality.max_rmse_increase", 0, 10),
    ),
}


class SpecError(ValueError):
    """The spec is not usable; the message names the field and the fix."""


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str
    nullable: bool = False
    unique: bool = False
    min: float | None = None
    max: float | None = None
    mostly: float = 1.0
    allowed: tuple | None = None
    pattern: str | None = None
    max_null_share: float | None = None  # nullable columns; defaults to the contract's


@dataclass(frozen=True)
class Contract:
    columns: tuple[ColumnRule, ...]
    max_null_share: float
    row_count: dict
    history: dict = field(default_factory=dict)  # bands drawn from accepted history
    relations: tuple = ()  # {a, op, b, mostly}: a op b on each row
    timestamp_in_day: bool = False  # keys.timestamp within the partition's local day

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    raw: dict

    # -- frequently used parts ----------------------------------------------
    @property
    def model(self) -> str:
        return self.raw["model"]

    @property
    def task(self) -> str:
        """`binary` (a 0/1 label, probabilities) or `regression` (a number)."""
        return self.raw.get("task", "binary")

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def id_column(self) -> str:
        return self.raw["keys"]["id"]

    @property
    def timestamp_column(self) -> str:
        return self.raw["keys"]["timestamp"]

    @property
    def features_feed(self) -> dict:
        return self.raw["source"]["features"]

    @property
    def outcomes_feed(self) -> dict:
        return self.raw["source"]["outcomes"]

    @property
    def numeric_features(self) -> list[str]:
        return list(self.raw["features"].get("numeric", []))

    @property
    def categorical_features(self) -> list[str]:
        return list(self.raw["features"].get("categorical", []))

    @property
    def derived_features(self) -> dict[str, str]:
        return dict(self.raw["features"].get("derived", {}) or {})

    @property
    def feature_names(self) -> list[str]:
        """All model inputs, in the order the model sees them."""
        return self.numeric_features + list(self.derived_features) + self.categorical_features

    @property
    def raw_feature_columns(self) -> list[str]:
        """Contract columns the model input is built from (timestamp for derived ones)."""
        cols = self.numeric_features + self.categorical_features
        if self.derived_features:
            cols.append(self.timestamp_column)
        return cols

    @property
    def slices(self) -> list[str]:
        return list(self.raw.get("slices", []))

    @property
    def golden_days(self) -> list[str]:
        return [str(d) for d in self.raw["evaluation"].get("golden_days", [])]

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(str(self.raw["schedule"]["start_date"]))

    def contract(self, feed: str) -> Contract:
        """The gate's contract for `features` or `outcomes`."""
        section = self.raw["contract"][feed]
        columns = tuple(ColumnRule(name=name, **rule) for name, rule in section["columns"].items())
        return Contract(
            columns,
            float(section.get("max_null_share", 1.0)),
            dict(section.get("row_count", {})),
            dict(section.get("history", {})),
            tuple(section.get("relations", [])),
            bool(section.get("timestamp_in_day", False)),
        )

    def section(self, name: str) -> dict:
        return self.raw[name]


def _fail(path: Path, field: str, problem: str, fix: str) -> SpecError:
    return SpecError(f"spec {path.name}: {field}: {problem}. {fix}")


def _check(path: Path, raw: dict) -> None:
    """Raise a SpecError naming the field, the problem and the fix at the first thing wrong."""
    _check_sections(path, raw)
    _check_task(path, raw)
    _check_label(path, raw["label"], raw.get("task", "binary"))
    names = _check_features(path, raw)
    for feed in ("features", "outcomes"):
        _check_feed(path, feed, raw["contract"].get(feed))
    _check_contract_covers(path, raw, names)
    _check_timezone(path, raw["keys"])
    _check_evaluation(path, raw["evaluation"], raw.get("task", "binary"))
    _check_monitoring(path, raw["monitoring"])


def _check_sections(path: Path, raw: dict) -> None:
    """Every required section is there, none is unknown, and the model has a valid name."""
    missing = [s for s in REQUIRED_SECTIONS if s not in raw]
    if missing:
        raise _fail(
            path,
            ", ".join(missing),
            "missing",
            "Add these sections (see include/specs/flights.yaml).",
        )
    unknown = sorted(set(raw) - KNOWN_SECTIONS)
    if unknown:
        raise _fail(
            path,
            ", ".join(unknown),
            "unknown section",
            f"Known sections: {', '.join(sorted(KNOWN_SECTIONS))}.",
        )
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(raw["model"])):
        raise _fail(
            path,
            "model",
            f"{raw['model']!r} is not a valid name",
            "Use lower case letters, digits and _.",
        )


def _check_task(path: Path, raw: dict) -> None:
    """A known task, with an XGBoost objective of its kind and its own thresholds."""
    task = raw.get("task", "binary")
    if task not in TASKS:
        raise _fail(path, "task", f"got {task!r}", f"Use one of {', '.join(TASKS)}.")
    objective = str(raw["training"]["params"].get("objective", ""))
    if not objective.startswith(TASK_NUMBERS[task]["objective"]):
        raise _fail(
            path,
            "training.params.objective",
            f"{objective!r} does not fit task {task}",
            f"Use an XGBoost objective starting with {TASK_NUMBERS[task]['objective']!r}.",
        )
    for field_path, low, high in TASK_ONLY_NUMBERS[task]:
        _check_number(path, raw, field_path, low, high)
    if task == "regression":
        _check_range(path, raw["evaluation"].get("sanity", {}).get("plausible_range"))


def _check_number(path: Path, raw: dict, field_path: str, low: float, high: float) -> None:
    """The field at the dotted `field_path` is a number from `low` to `high`."""
    value = raw
    for part in field_path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise _fail(path, field_path, f"got {value!r}", f"Write a number from {low} to {high}.")


def _check_range(path: Path, plausible) -> None:
    """A regression's plausible range of labels and predictions: [low, high]."""
    if (
        not isinstance(plausible, list)
        or len(plausible) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in plausible)
        or plausible[0] >= plausible[1]
    ):
        raise _fail(
            path,
            "evaluation.sanity.plausible_range",
            f"got {plausible!r}",
            "Write [low, high], two numbers with low < high, e.g. [-120, 1500].",
        )


def _check_label(path: Path, label: dict, task: str = "binary") -> None:
    """A binary label is `column op value` with a known op; a regression label is a numeric
    `column` with `missing`: `drop` or a number."""
    if task == "regression":
        _check_regression_label(path, label)
        return
    for key in ("name", "column", "op", "value"):
        if key not in label:
            raise _fail(
                path,
                f"label.{key}",
                "missing",
                "A label is `column op value`, e.g. arr_delay > 15.",
            )
    if label["op"] not in LABEL_OPS:
        raise _fail(
            path, "label.op", f"{label['op']!r} unknown", f"Use one of {' '.join(LABEL_OPS)}."
        )


def _check_regression_label(path: Path, label: dict) -> None:
    """name, column and missing (`drop` or a number); no op or value (that is binary)."""
    for key in ("name", "column", "missing"):
        if key not in label:
            raise _fail(
                path,
                f"label.{key}",
                "missing",
                "A regression label is {name, column, missing}, e.g. "
                "{name: delay_minutes, column: arr_delay, missing: drop}.",
            )
    extra = sorted({"op", "value"} & set(label))
    if extra:
        raise _fail(
            path,
            f"label.{', '.join(extra)}",
            "not used by task regression",
            "A regression label is the column's number itself; remove op and value.",
        )
    missing = label["missing"]
    if missing != LABEL_MISSING_DROP and (
        isinstance(missing, bool) or not isinstance(missing, (int, float))
    ):
        raise _fail(
            path,
            "label.missing",
            f"got {missing!r}",
            "Write drop (rows without the outcome are left out) or a number to use instead.",
        )


def _check_features(path: Path, raw: dict) -> list[str]:
    """There are features, derived ones are of known kinds, and none leaks the label (neither
    forbidden nor from the outcomes feed); returns the feature names."""
    features = raw["features"]
    names = list(features.get("numeric", [])) + list(features.get("categorical", []))
    if not names:
        raise _fail(path, "features", "no features", "List numeric and/or categorical features.")
    for name, kind in (features.get("derived") or {}).items():
        if kind not in DERIVED_KINDS:
            raise _fail(
                path,
                f"features.derived.{name}",
                f"kind {kind!r} unknown",
                f"Use one of {', '.join(DERIVED_KINDS)}.",
            )
    leaking = sorted(set(names) & set(raw["forbidden"]))
    if leaking:
        raise _fail(
            path,
            "features",
            f"{', '.join(leaking)} are forbidden (they leak the label)",
            "Remove them from the features.",
        )
    outcome_cols = set(raw["contract"]["outcomes"]["columns"])
    leaking = sorted(set(names) & outcome_cols)
    if leaking:
        raise _fail(
            path,
            "features",
            f"{', '.join(leaking)} come from the outcomes feed",
            "Outcome columns are never features.",
        )
    return names


def _check_feed(path: Path, feed: str, section: dict | None) -> None:
    """One feed's contract: its columns, known keys, relations, history and column rules."""
    if not section or "columns" not in section:
        raise _fail(
            path,
            f"contract.{feed}.columns",
            "missing",
            "List every column of the feed with its rules.",
        )
    extra = set(section) - CONTRACT_KEYS
    if extra:
        raise _fail(
            path,
            f"contract.{feed}",
            f"unknown key {', '.join(sorted(extra))}",
            f"Keys: {', '.join(sorted(CONTRACT_KEYS))}.",
        )
    _check_relations(path, feed, section)
    _check_history(path, feed, section)
    _check_column_rules(path, feed, section["columns"])


def _check_relations(path: Path, feed: str, section: dict) -> None:
    """Each relation compares two contract columns with >= or >."""
    for i, rel in enumerate(section.get("relations", [])):
        if (
            set(rel) - {"a", "op", "b", "mostly"}
            or rel.get("op") not in (">=", ">")
            or {rel.get("a"), rel.get("b")} - set(section["columns"])
        ):
            raise _fail(
                path,
                f"contract.{feed}.relations[{i}]",
                f"got {rel!r}",
                "Write {a: column, op: '>=' or '>', b: column, mostly: share}, "
                "with contract columns.",
            )


def _check_history(path: Path, feed: str, section: dict) -> None:
    """The history checks have known keys and name contract columns."""
    hist = section.get("history", {})
    unknown_hist = set(hist) - HISTORY_KEYS
    if unknown_hist:
        raise _fail(
            path,
            f"contract.{feed}.history",
            f"unknown key {', '.join(sorted(unknown_hist))}",
            f"Keys: {', '.join(sorted(HISTORY_KEYS))}.",
        )
    for key in ("distribution_columns", "new_category_columns"):
        absent = sorted(set(hist.get(key, [])) - set(section["columns"]))
        if absent:
            raise _fail(
                path,
                f"contract.{feed}.history.{key}",
                f"{', '.join(absent)} not in the contract",
                "Use contract columns.",
            )


def _check_column_rules(path: Path, feed: str, columns: dict) -> None:
    """Every column has a known type and only known rules."""
    for col, rule in columns.items():
        if not isinstance(rule, dict) or rule.get("type") not in COLUMN_TYPES:
            raise _fail(
                path,
                f"contract.{feed}.columns.{col}.type",
                f"got {rule!r}",
                f"Use one of {', '.join(COLUMN_TYPES)}.",
            )
        extra = set(rule) - set(ColumnRule.__dataclass_fields__)
        if extra:
            raise _fail(
                path,
                f"contract.{feed}.columns.{col}",
                f"unknown rule {', '.join(sorted(extra))}",
                "Rules: type, nullable, unique, min, max, mostly, allowed, pattern, "
                "max_null_share.",
            )


def _check_contract_covers(path: Path, raw: dict, names: list[str]) -> None:
    """The contract holds every column the spec uses: features, keys, the label, the slices."""
    contract_cols = set(raw["contract"]["features"]["columns"])
    outcome_cols = set(raw["contract"]["outcomes"]["columns"])
    needed = set(names) | {raw["keys"]["id"], raw["keys"]["timestamp"]}
    absent = sorted(needed - contract_cols)
    if absent:
        raise _fail(
            path,
            "contract.features.columns",
            f"{', '.join(absent)} used but not in the contract",
            "Add them to the contract.",
        )
    if raw["label"]["column"] not in outcome_cols:
        raise _fail(
            path,
            "label.column",
            f"{raw['label']['column']!r} not in contract.outcomes",
            "The label comes from the outcomes feed.",
        )
    absent = sorted(set(raw.get("slices", [])) - contract_cols)
    if absent:
        raise _fail(
            path,
            "slices",
            f"{', '.join(absent)} not in contract.features",
            "Slices are contract columns.",
        )


def _check_timezone(path: Path, keys: dict) -> None:
    """The time zone (UTC when absent) is an IANA name."""
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(str(keys.get("timezone", "UTC")))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(
            path,
            "keys.timezone",
            f"{keys.get('timezone')!r} is not a time zone",
            "Use an IANA name such as America/New_York.",
        ) from None


def _check_evaluation(path: Path, evaluation: dict, task: str = "binary") -> None:
    """The promotion rule and its numbers (the task's), the confidence level and the
    golden days."""
    promotion = evaluation.get("promotion", {})
    if promotion.get("rule") not in PROMOTION_RULES:
        raise _fail(
            path,
            "evaluation.promotion.rule",
            f"got {promotion.get('rule')!r}",
            f"Use one of {', '.join(PROMOTION_RULES)}.",
        )
    numbers = TASK_NUMBERS[task]
    needed = numbers["margins"][promotion["rule"]]
    for key in (needed, *numbers["evaluation.promotion"]):
        if not isinstance(promotion.get(key), (int, float)):
            raise _fail(
                path,
                f"evaluation.promotion.{key}",
                f"got {promotion.get(key)!r}",
                "Write a number.",
            )
    level = evaluation.get("confidence", 0.95)
    if not isinstance(level, float) or not 0.5 <= level < 1:
        raise _fail(path, "evaluation.confidence", f"got {level!r}", "Write a level such as 0.95.")
    for day in evaluation.get("golden_days", []):
        try:
            dt.date.fromisoformat(str(day))
        except ValueError:
            raise _fail(
                path,
                "evaluation.golden_days",
                f"{day!r} is not a date",
                "Write dates as YYYY-MM-DD.",
            ) from None


def _check_monitoring(path: Path, monitoring: dict) -> None:
    """Every monitoring threshold is present and a number in its range."""
    for field_path, low, high in MONITORING_NUMBERS:
        value = monitoring
        for part in field_path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not low <= value <= high
        ):
            raise _fail(
                path,
                f"monitoring.{field_path}",
                f"got {value!r}",
                f"Write a number from {low} to {high}.",
            )
    k, n = monitoring["persistence"]["k"], monitoring["persistence"]["n"]
    if k > n:
        raise _fail(
            path,
            "monitoring.persistence",
            f"k={k} is more than n={n}",
            "A request needs k of the last n runs: k <= n.",
        )


def load_spec(name_or_path: str | Path, specs_dir: Path | None = None) -> Spec:
    """Load a spec by name (`flights` finds `flights.yaml` in the specs folder) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = (specs_dir or load_settings().specs_dir) / f"{name_or_path}.yaml"
    if not path.is_file():
        where = specs_dir or load_settings().specs_dir
        known = ", ".join(sorted(p.stem for p in Path(where).glob("*.yaml"))) or "none"
        raise SpecError(f"no spec {str(name_or_path)!r} (looked for {path}); specs found: {known}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {path.name}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"spec {path.name}: expected a mapping at the top level")
    _check(path, raw)
    return Spec(name=path.stem, path=path, raw=raw)


def load_all_specs(specs_dir: Path | None = None) -> list[Spec]:
    """Every spec in the specs folder, sorted by file name."""
    folder = specs_dir or load_settings().specs_dir
    return [load_spec(p, folder) for p in sorted(Path(folder).glob("*.yaml"))]
