"""Model specs: one YAML file per model in the specs folder, loaded and checked.

Every section and field is declared once, with its default, in `mlgate.config.fields`;
the loader checks the file against it (an unknown or misspelled key names the nearest
valid one), fills the defaults, then checks what spans fields (the label rule against its
column's type, features against the contract, leaks). A spec error names the file, the
field and what to write instead. The loaded spec keeps the YAML's structure with every
default filled in (`spec.raw`) and exposes the parts the code uses as attributes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlgate.config.fields import (
    DEFAULT_OBJECTIVE,
    LABEL_MISSING_DROP,
    OBJECTIVE_PREFIX,
    SPEC,
    FieldError,
    normalize,
)
from mlgate.config.settings import load_settings

TEXT_LABEL_OPS = ("==", "!=", "in")  # what a rule on a string column may do


class SpecError(ValueError):
    """The spec is not usable; the message names the field and the fix. `problems` lists
    every wrong field found (the message tells the first and how many more)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        more = len(problems or []) - 1
        extra = (
            f" (and {more} more problem{'s' * (more > 1)}: `mlgate spec check`)" if more > 0 else ""
        )
        super().__init__(message + extra)
        self.problems = problems or [message]


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

    def column(self, name: str) -> ColumnRule:
        """The rule of one contract column."""
        return next(c for c in self.columns if c.name == name)


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
        return self.raw["task"]

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
        return list(self.raw["features"]["numeric"])

    @property
    def categorical_features(self) -> list[str]:
        return list(self.raw["features"]["categorical"])

    @property
    def derived_features(self) -> dict[str, str]:
        return dict(self.raw["features"]["derived"])

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
        return list(self.raw["slices"])

    @property
    def golden_days(self) -> list[str]:
        return list(self.raw["evaluation"]["golden_days"])

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(str(self.raw["schedule"]["start_date"]))

    def contract(self, feed: str) -> Contract:
        """The gate's contract for `features` or `outcomes`."""
        section = self.raw["contract"][feed]
        columns = tuple(ColumnRule(name=name, **rule) for name, rule in section["columns"].items())
        return Contract(
            columns,
            float(section["max_null_share"]),
            dict(section["row_count"]),
            dict(section["history"]),
            tuple(section["relations"]),
            bool(section["timestamp_in_day"]),
        )

    def section(self, name: str) -> dict:
        return self.raw[name]


def _fail(path: Path, field: str, problem: str, fix: str) -> SpecError:
    return SpecError(f"spec {path.name}: {field}: {problem}. {fix}")


def check_spec(path: Path, raw: dict) -> dict:
    """The spec checked against the declaration, with every default filled in; raises a
    SpecError naming the field, the problem and the fix at the first thing wrong."""
    try:
        spec = normalize(SPEC, raw)
    except FieldError as exc:
        problems = [str(_fail(path, e.where, e.problem, e.fix)) for e in exc.errors]
        raise SpecError(problems[0], problems) from None
    _check_model_name(path, spec["model"])
    _check_task(path, spec)
    _check_label(path, spec)
    names = _check_features(path, spec)
    for feed in ("features", "outcomes"):
        _check_feed_columns(path, feed, spec["contract"][feed])
    _check_contract_covers(path, spec, names)
    _check_timezone(path, spec["keys"])
    _check_monitoring(path, spec["monitoring"])
    return spec


def _check_model_name(path: Path, model: str) -> None:
    """The model's name can name a registered model, DAGs and folders."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", model):
        raise _fail(path, "model", f"{model!r} is not a valid name", "Use a-z, 0-9 and _.")


def _check_task(path: Path, spec: dict) -> None:
    """The XGBoost objective fits the task; a regression states its plausible range and
    its bias limit (they are in the label's units: no default fits every model)."""
    task, params = spec["task"], spec["training"]["params"]
    objective = str(params.setdefault("objective", DEFAULT_OBJECTIVE[task]))
    if not objective.startswith(OBJECTIVE_PREFIX[task]):
        raise _fail(
            path,
            "training.params.objective",
            f"{objective!r} does not fit task {task}",
            f"Use an XGBoost objective starting with {OBJECTIVE_PREFIX[task]!r}.",
        )
    sanity = spec["evaluation"]["sanity"]
    for key, example in (("plausible_range", "[-120, 1500]"), ("max_abs_bias", "40")):
        if task == "regression" and sanity[key] is None:
            raise _fail(
                path,
                f"evaluation.sanity.{key}",
                "missing (task regression)",
                f"Write it in the label's units, e.g. {key}: {example}.",
            )


def _check_label(path: Path, spec: dict) -> None:
    """A binary label is `column op value`, and the rule can apply to the column's type:
    text compares text (==, !=, in), numbers compare numbers; `in` takes a list. A
    regression label is the number in `column`, with `missing`: drop or a number."""
    label, outcome_columns = spec["label"], spec["contract"]["outcomes"]["columns"]
    if label["column"] not in outcome_columns:
        raise _fail(
            path,
            "label.column",
            f"{label['column']!r} not in contract.outcomes",
            "The label comes from the outcomes feed.",
        )
    kind = outcome_columns[label["column"]]["type"]
    if spec["task"] == "regression":
        _check_regression_label(path, label)
        if kind == "string":
            raise _fail(
                path,
                "label.column",
                f"{label['column']!r} is a text column",
                "A regression label is a number column (int or float) of the outcomes feed.",
            )
        return
    if label["missing"] not in (0, 1) or isinstance(label["missing"], bool):
        raise _fail(path, "label.missing", f"got {label['missing']!r}", "Write 0 or 1.")
    for key in ("op", "value"):
        if label[key] is None:
            raise _fail(
                path,
                f"label.{key}",
                "missing",
                "A label is `column op value`, e.g. delay > 15 or outcome == 'YES'.",
            )
    _check_label_fits_column(path, label, kind)


def _check_regression_label(path: Path, label: dict) -> None:
    """No op or value (that is binary); `missing` is `drop` or a number."""
    extra = [key for key in ("op", "value") if label[key] is not None]
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


def _check_label_fits_column(path: Path, label: dict, kind: str) -> None:
    """The rule's op and values suit a column of type `kind`."""
    if label["op"] == "in" and not (isinstance(label["value"], list) and label["value"]):
        raise _fail(path, "label.value", f"got {label['value']!r}", "`in` takes a list: [a, b].")
    values = label["value"] if label["op"] == "in" else [label["value"]]
    if kind == "string":
        if label["op"] not in TEXT_LABEL_OPS:
            raise _fail(
                path,
                "label.op",
                f"{label['op']!r} on the text column {label['column']!r}",
                f"Text labels use {', '.join(TEXT_LABEL_OPS)} (e.g. op: '==', value: 'YES').",
            )
        wrong = [v for v in values if not isinstance(v, str)]
        hint = "Quote the value: the column holds text."
    else:
        wrong = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
        hint = f"{label['column']!r} is a {kind} column: compare it with a number."
    if wrong:
        raise _fail(path, "label.value", f"{wrong[0]!r} cannot be compared with {kind}", hint)


def _check_features(path: Path, spec: dict) -> list[str]:
    """There are features, and none leaks the label (neither forbidden nor from the
    outcomes feed); returns the feature names."""
    features = spec["features"]
    names = features["numeric"] + features["categorical"]
    if not names:
        raise _fail(path, "features", "no features", "List numeric and/or categorical features.")
    leaking = sorted(set(names) & set(spec["forbidden"]))
    if leaking:
        raise _fail(
            path,
            "features",
            f"{', '.join(leaking)} are forbidden (they leak the label)",
            "Remove them from the features.",
        )
    leaking = sorted(set(names) & set(spec["contract"]["outcomes"]["columns"]))
    if leaking:
        raise _fail(
            path,
            "features",
            f"{', '.join(leaking)} come from the outcomes feed",
            "Outcome columns are never features.",
        )
    return names


def _check_feed_columns(path: Path, feed: str, section: dict) -> None:
    """Relations and history checks name the feed's own columns."""
    columns = set(section["columns"])
    for i, rel in enumerate(section["relations"]):
        absent = sorted({rel["a"], rel["b"]} - columns)
        if absent:
            raise _fail(
                path,
                f"contract.{feed}.relations[{i}]",
                f"{', '.join(absent)} not in the contract",
                "Relations compare contract columns.",
            )
    named = {
        key: section["history"][key]
        for key in ("distribution_columns", "new_category_columns", "nonzero_columns")
    }
    for group, names in section["history"]["missing_together"].items():
        named[f"missing_together.{group}"] = names
    for key, names in named.items():
        absent = sorted(set(names) - columns)
        if absent:
            raise _fail(
                path,
                f"contract.{feed}.history.{key}",
                f"{', '.join(absent)} not in the contract",
                "Use contract columns.",
            )


def _check_contract_covers(path: Path, spec: dict, names: list[str]) -> None:
    """The features contract holds every column the spec uses: features, keys, the slices
    (the label's column is checked with the label)."""
    contract_cols = set(spec["contract"]["features"]["columns"])
    needed = set(names) | {spec["keys"]["id"], spec["keys"]["timestamp"]}
    absent = sorted(needed - contract_cols)
    if absent:
        raise _fail(
            path,
            "contract.features.columns",
            f"{', '.join(absent)} used but not in the contract",
            "Add them to the contract.",
        )
    absent = sorted(set(spec["slices"]) - contract_cols)
    if absent:
        raise _fail(
            path,
            "slices",
            f"{', '.join(absent)} not in contract.features",
            "Slices are contract columns.",
        )


def _check_timezone(path: Path, keys: dict) -> None:
    """The time zone is an IANA name."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(keys["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(
            path,
            "keys.timezone",
            f"{keys['timezone']!r} is not a time zone",
            "Use an IANA name such as Europe/Lisbon or UTC.",
        ) from None


def _check_monitoring(path: Path, monitoring: dict) -> None:
    """A retrain request needs k of the last n runs: k <= n."""
    k, n = monitoring["persistence"]["k"], monitoring["persistence"]["n"]
    if k > n:
        raise _fail(
            path,
            "monitoring.persistence",
            f"k={k} is more than n={n}",
            "A request needs k of the last n runs: k <= n.",
        )


def load_spec(name_or_path: str | Path, specs_dir: Path | None = None) -> Spec:
    """Load a spec by name (`NAME` finds `NAME.yaml` in the specs folder) or by path."""
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
    return Spec(name=path.stem, path=path, raw=check_spec(path, raw))


def load_specs_apart(specs_dir: Path | None = None) -> tuple[list[Spec], dict[Path, SpecError]]:
    """Every spec in the specs folder that loads, sorted by file name, and the error of each
    that does not: one broken spec must not take the other models down. A spec naming a
    model an earlier file already names is an error of its own."""
    folder = specs_dir or load_settings().specs_dir
    specs, errors, models = [], {}, {}
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            spec = load_spec(path, folder)
        except SpecError as exc:
            errors[path] = exc
            continue
        if spec.model in models:
            errors[path] = SpecError(
                f"spec {path.name}: model {spec.model!r} is already the model of "
                f"{models[spec.model].name}; give each spec its own model name"
            )
            continue
        models[spec.model] = path
        specs.append(spec)
    return specs, errors


def load_all_specs(specs_dir: Path | None = None) -> list[Spec]:
    """Every spec in the specs folder, sorted by file name (SpecError: the first broken)."""
    specs, errors = load_specs_apart(specs_dir)
    if errors:
        raise next(iter(errors.values()))
    return specs
