"""The `mlgate` command line. `mlgate --help` lists the commands; each has its own --help.

Exit codes, the same for every command:
  0  success (validate: the gate passed; drill: every incident caught; evaluate: promote;
     rollback: the champion moved back; run, demo: every task ran, refusals and
     quarantines included)
  1  refused: the gate rejected the data (drill: an incident was missed; evaluate: refuse;
     rollback: refused; run, demo: a task failed)
  2  usage error: bad arguments, an unknown or broken spec, an unknown model version, a
     missing path, a table that cannot be replayed, a demo asked to empty a folder it did
     not make
  3  evaluate: the decision needs a person (an interval straddles a margin)
  4  error: the tracking store or the lake cannot be used (server down, database locked,
     no permission) or committed data is damaged; the message says which and what to do"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_ASK, EXIT_ERROR = 0, 1, 2, 3, 4


class UsageError(Exception):
    """Bad arguments: printed and exit code 2."""


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _scale(text: str) -> int:
    try:
        scale = int(text)
    except ValueError:
        scale = None
    if scale is None or scale < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a scale: give a whole number of copies of each real row, 1 or "
            "more (1, the default, lands the rows as they are; 10 makes each day 10x the rows)"
        )
    return scale


SCALE_HELP = (
    "land each day N times over (default 1): copy 0 of each row as it is, copies 1..N-1 with "
    "keys of their own and a small jitter of the continuous numeric columns (same "
    "distributions; for benchmarks and tests at volume)"
)


def _spec(name: str):
    from mlgate.config.spec import SpecError, load_spec

    try:
        return load_spec(name)
    except SpecError as exc:
        raise UsageError(str(exc)) from None


def _data_files(path: Path) -> list[Path]:
    """A file, or the CSV/Parquet files under a directory of partitions."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".parquet") and p.is_file())
    if not files:
        raise UsageError(f"{path}: no .csv or .parquet files under it")
    return files


def _history_profile(spec, history_dir: Path | None, ds: str) -> dict | None:
    """The history profile of the partitions `ds=YYYY-MM-DD/...` under the folder, taken
    as accepted: the contract's `history.days` before ds (unreadable ones are skipped)."""
    import pandas as pd

    from mlgate.ingest.gate import read_partition
    from mlgate.ingest.landing import delivered_profile

    if history_dir is None:
        return None
    if not history_dir.is_dir():
        raise UsageError(f"--history {history_dir}: not a directory")
    from mlgate.lake.names import partition_date

    folders = {day: p for p in history_dir.glob("ds=*") if (day := partition_date(p.name))}

    def delivered(day: str):
        files = [
            f for f in folders[day].rglob("*") if f.suffix in (".csv", ".parquet") and f.is_file()
        ]
        parts = [read_partition(f.read_bytes(), f.name)[0] for f in files]
        parts = [p for p in parts if p is not None]
        return pd.concat(parts, ignore_index=True) if parts else None

    return delivered_profile(spec, "features", sorted(folders), ds, delivered)


def cmd_validate(args) -> int:
    from mlgate.ingest.landing import validate_features

    spec = _spec(args.spec)
    path = _partition_file(Path(args.data))
    result, _ = validate_features(
        spec,
        path.read_bytes(),
        path.name,
        args.ds,
        _history_profile(spec, Path(args.history) if args.history else None, args.ds),
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return EXIT_OK if result.success else EXIT_REJECTED


def _partition_file(path: Path) -> Path:
    """The file to validate: `path`, or the one CSV/Parquet file of a partition folder."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".csv", ".parquet"))
        if len(files) != 1:
            found = ", ".join(p.name for p in files) or "none"
            raise UsageError(
                f"--data {path} is a folder; give the partition file itself (CSV or Parquet "
                f"files in it: {found})"
            )
        return files[0]
    if not path.is_file():
        raise UsageError(f"--data {path}: no such file")
    return path


def _read_all(path: Path):
    """All rows of a file or a folder of partitions; rows under `ds=...` folders get a
    `ds` column."""
    import pandas as pd

    from mlgate.ingest.gate import read_partition

    frames = []
    for f in _data_files(path):
        frame, failure = read_partition(f.read_bytes(), f.name)
        if failure is not None:
            raise UsageError(f"{f}: {failure.reason}")
        folder = f.parent.name
        frames.append(frame.assign(ds=folder[3:]) if folder.startswith("ds=") else frame)
    return pd.concat(frames, ignore_index=True)


def cmd_drift(args) -> int:
    from mlgate.monitor.drift import verdict_text

    spec = _spec(args.spec)
    if args.report:
        return _print_monitor_report(spec, args)
    if not (args.reference and args.current):
        raise UsageError(
            "give --reference and --current (two sets of files), or --report DS (a monitored day)"
        )
    result = _drift_of_files(spec, Path(args.reference), Path(args.current))
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(
        f"drift: {verdict_text(result)} "
        f"(false-alarm rate {result['false_alarm_rate']} over all "
        f"{len(result['features'])} features; "
        f"{result['rows']} rows against {result['reference_rows']})"
    )
    print(
        f"drifted importance: {result['drifted_importance']:.0%} of the features' importance "
        f"({'at or above' if result['importance_drift'] else 'below'} min_drifted_share "
        f"{result['min_drifted_share']:.0%}, the monitor's bar for asking to retrain)"
    )
    for f in result["features"]:
        print(
            f"  {f['name']:<16} {f['method']:<15} {f['statistic']:>8.4f}  "
            f"threshold {f['threshold']:.4f}"
            f"  p {f['p_value']:<9.3g} {'DRIFT' if f['drifted'] else ''}"
        )
    return EXIT_OK


def _drift_of_files(spec, reference_path: Path, current_path: Path) -> dict:
    """`mlgate drift` of two sets of files: each must hold the spec's input columns, its
    numeric ones as numbers (else a usage error naming them)."""
    from mlgate.model import profile
    from mlgate.model.features import schema_for
    from mlgate.monitor import drift

    reference, current = _read_all(reference_path), _read_all(current_path)
    try:
        for flag, path, frame in (
            ("--reference", reference_path, reference),
            ("--current", current_path, current),
        ):
            profile.check_columns(
                frame, spec.raw_feature_columns, spec.numeric_features, f"{flag} {path}"
            )
        schema = schema_for(spec, reference)
        ref_inputs, cur_inputs = profile.inputs(reference, schema), profile.inputs(current, schema)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cfg = spec.section("monitoring")["drift"]
    window = int(spec.section("monitoring")["window_days"])
    chunks = (
        profile.week_chunks(reference["ds"], window) if reference.get("ds") is not None else None
    )
    if chunks is not None and chunks.nunique() < 2:
        chunks = None  # one week of reference: chance is the only yardstick
    return drift.compare_samples(
        ref_inputs,
        cur_inputs,
        schema.numeric + list(schema.derived),
        schema.categorical,
        float(cfg["false_alarm_rate"]),
        float(cfg["min_drifted_share"]),
        int(cfg["bins"]),
        chunks,
        seed=int(spec.section("training")["seed"]),
    )


def _print_monitor_report(spec, args) -> int:
    """The monitor's report of one day, as the monitor DAG wrote it to the lake."""
    from mlgate.config.settings import load_settings
    from mlgate.lake.names import REPORT_FILE, monitor_name
    from mlgate.lake.store import Lake, LakeError
    from mlgate.monitor.day import summary_lines

    try:
        lake = Lake.from_uri(args.lake or load_settings().lake_uri)
        report = json.loads(
            lake.read_bytes("reports", monitor_name(spec.model), args.report, REPORT_FILE)
        )
    except LakeError as exc:
        raise UsageError(f"{exc}; run the monitor DAG for {args.report} first") from None
    print(json.dumps(report, indent=2) if args.json else "\n".join(summary_lines(report)))
    return EXIT_OK


def cmd_simulate(args) -> int:
    from mlgate.config.settings import load_settings
    from mlgate.demo import simulator
    from mlgate.ingest.replay import ReplayError
    from mlgate.lake.store import Lake, LakeError

    spec = _spec(args.spec) if args.spec else None  # None: the demo's own spec
    try:
        lake = Lake.from_uri(args.lake or load_settings().lake_uri)
        days = simulator.simulate(
            lake, args.start, args.end, outcomes=not args.no_outcomes, spec=spec, scale=args.scale
        )
    except (
        LakeError,
        ReplayError,
        simulator.NotFlightsSpec,
    ) as exc:  # a wrong URI, bad credentials, a
        raise UsageError(str(exc)) from None  # spec that is not the demo's: say which
    scale = f" at scale {args.scale}" if args.scale > 1 else ""
    print(f"delivered {len(days)} day(s){scale} into {lake.location('landing')}")
    return EXIT_OK


def cmd_land(args) -> int:
    from mlgate.config.settings import load_settings
    from mlgate.ingest.replay import ReplayError, land
    from mlgate.lake.store import Lake, LakeError

    spec = _spec(args.spec)
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    try:
        lake = Lake.from_uri(args.lake or load_settings().lake_uri)
        landed = land(
            lake, spec, args.features, args.outcomes, args.start, args.end, scale=args.scale
        )
    except (LakeError, ReplayError) as exc:
        raise UsageError(str(exc)) from None
    if not landed.days:
        raise UsageError(
            f"no row of {args.features} falls in {args.start or 'any day'} .. {args.end or ''} "
            f"({spec.timestamp_column} in {spec.section('keys')['timezone']})"
        )
    print(
        f"landed {len(landed.days)} day(s), {landed.days[0]} .. {landed.days[-1]}: "
        f"{landed.feature_rows} row(s) of {spec.features_feed['feed']}"
        + (f", {landed.outcome_rows} of {spec.outcomes_feed['feed']}" if args.outcomes else "")
        + (f" (scale {args.scale})" if args.scale > 1 else "")
        + f", into {lake.location('landing')}"
    )
    return EXIT_OK


def cmd_run(args) -> int:
    from mlgate.airflow.runner import format_timeline, run_spec, timeline_json_lines
    from mlgate.config.settings import load_settings

    spec = _spec(args.spec)
    if args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    settings = load_settings()
    progress = sys.stderr if args.json else sys.stdout
    print(
        f"mlgate run: {spec.model}, {args.start} .. {args.end}, state in {settings.home} "
        f"(output: {settings.home / 'run.log'}; task logs in the Airflow UI)",
        file=progress,
        flush=True,
    )
    try:
        runner = run_spec(
            settings,
            spec,
            args.start,
            args.end,
            lambda line: print(line, file=progress, flush=True),
        )
    except RuntimeError as exc:  # a DAG file does not import
        print(f"mlgate run: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    if args.json:
        if runner.timeline:
            print(timeline_json_lines(runner.timeline))
    else:
        print("\n" + format_timeline(runner.timeline))
    for failure in runner.failures:
        print(f"mlgate run: task failed: {failure} (see {runner.log_path})", file=sys.stderr)
    return EXIT_REJECTED if runner.failures else EXIT_OK


def cmd_rollback(args) -> int:
    from mlflow.exceptions import MlflowException

    from mlgate.config.settings import load_settings
    from mlgate.lake.store import Lake
    from mlgate.promote.registry import PromotionError
    from mlgate.promote.rollback import roll_back

    spec = _spec(args.model)
    settings = load_settings()
    try:
        moved = roll_back(Lake.from_uri(settings.lake_uri), settings, spec, args.reason)
    except PromotionError as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        print(
            f"rollback refused: no registered model {spec.model!r} in {settings.tracking_uri}: "
            "nothing was ever promoted, so there is nothing to roll back",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    if moved.get("finished"):
        print(f"{spec.model}: first {moved['finished']}")
    print(f"{spec.model}: champion moved from v{moved['from']} back to v{moved['to']}")
    return EXIT_OK


def _jsonable(value):
    return value.item() if hasattr(value, "item") else str(value)


def cmd_evaluate(args) -> int:
    from mlflow.exceptions import MlflowException

    from mlgate import tracking
    from mlgate.config.settings import load_settings
    from mlgate.lake.store import Lake
    from mlgate.promote.decide import ASK, PROMOTE
    from mlgate.promote.evaluate import evaluate_candidate
    from mlgate.promote.golden import EvaluationError

    spec = _spec(args.spec)
    settings = load_settings()
    try:
        mv = tracking.client(settings).get_model_version(spec.model, args.candidate)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise  # the store cannot be used: exit 4, not "no such version"
        raise UsageError(
            f"{spec.model} has no registered version {args.candidate} in {settings.tracking_uri}"
        ) from None
    window = tracking.training_window(settings, mv.run_id)
    if window is None:
        raise UsageError(
            f"{spec.model} version {args.candidate} has no training window logged "
            "(lineage.json on its run); only versions trained by mlgate can be judged"
        )
    run = {"dag_id": "mlgate-cli", "run_id": f"evaluate v{args.candidate}"}
    try:
        decision = evaluate_candidate(
            Lake.from_uri(settings.lake_uri),
            settings,
            spec,
            args.candidate,
            window,
            run,
            log=args.log,
        )
    except EvaluationError as exc:
        print(f"mlgate evaluate: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2, default=_jsonable))
    else:
        print(decision.sentence)
        for reason in decision.reasons:
            print(f"  - {reason}")
    return {PROMOTE: EXIT_OK, ASK: EXIT_ASK}.get(decision.outcome, EXIT_REJECTED)


def cmd_decisions(args) -> int:
    from mlgate.config.settings import load_settings
    from mlgate.lake.store import Lake
    from mlgate.monitor import hindsight

    spec = _spec(args.spec)
    settings = load_settings()
    judged = hindsight.judge_all(Lake.from_uri(settings.lake_uri), settings, spec)
    if args.record:
        hindsight.record(settings, spec, judged)
    if args.json:
        print(
            json.dumps(
                {
                    "model": spec.model,
                    "decisions": [j.to_dict() for j in judged],
                    "summary": hindsight.share_right(judged),
                },
                indent=2,
                default=_jsonable,
            )
        )
    elif not judged:
        print(f"{spec.model}: no decision against a champion recorded in {settings.tracking_uri}")
    else:
        print(hindsight.table(judged))
    return EXIT_OK


def cmd_demo(args) -> int:
    from mlgate.demo.run import DemoError, run_demo

    try:
        return run_demo(args.start, args.end, fresh=not args.keep)
    except DemoError as exc:
        raise UsageError(str(exc)) from None


def cmd_up(args) -> int:
    from mlgate.demo.up import run_up

    return run_up(args.airflow_port, args.mlflow_port)


def cmd_drill(args) -> int:
    from mlgate.config.settings import load_settings
    from mlgate.ingest.drill import DrillError, drill
    from mlgate.lake.store import Lake, LakeError

    spec = _spec(args.spec)
    try:
        lake = Lake.from_uri(args.lake or load_settings().lake_uri)
        rows = drill(lake, spec, args.ds, args.scenario)
    except (DrillError, LakeError) as exc:
        raise UsageError(str(exc)) from None
    tried = [r for r in rows if r["caught"] is not None]
    if args.json:
        print(
            json.dumps(
                {
                    "ds": args.ds,
                    "caught": sum(r["caught"] for r in tried),
                    "tried": len(tried),
                    "scenarios": rows,
                },
                indent=2,
            )
        )
    else:
        for r in rows:
            verdict = "SKIPPED" if r["caught"] is None else "CAUGHT" if r["caught"] else "MISSED"
            print(
                f"{r['scenario']:<28} {verdict:<7} {', '.join(r['checks']):<32} {r['reason'][:110]}"
            )
        print(f"{sum(r['caught'] for r in tried)} of {len(tried)} scenarios caught on {args.ds}")
    return EXIT_OK if all(r["caught"] for r in tried) else EXIT_REJECTED


def cmd_env(args) -> int:
    from mlgate.airflow.local import airflow_env
    from mlgate.config.settings import load_settings

    for key, value in airflow_env(load_settings()).items():
        print(f"export {key}={shlex.quote(value)}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in (
        _add_demo,
        _add_land,
        _add_run,
        _add_validate,
        _add_drift,
        _add_simulate,
        _add_evaluate,
        _add_rollback,
        _add_decisions,
        _add_drill,
        _add_env,
        _add_up,
        _add_spec,
    ):
        add_command(sub)
    return parser


SPEC_HELP = "spec name (include/specs/NAME.yaml) or path"


def _add_demo(sub) -> None:
    """`mlgate demo`: the real DAGs over a compressed 2013 timeline."""
    p = sub.add_parser(
        "demo", help="run the real DAGs over a compressed 2013 timeline and print the timeline"
    )
    p.add_argument("--start", type=_date, default="2013-01-01", help="first day (2013-01-01)")
    p.add_argument(
        "--end",
        type=_date,
        default=None,
        help="last day; without it the demo plays to 2013-06-30, then on day by day until a "
        "candidate is left in the gray zone (2013-12-31 at the latest), and leaves that "
        "candidate waiting in Airflow's Required Actions for `make up`",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the existing state in MLGATE_HOME instead of starting fresh (without it, "
        "the demo empties MLGATE_HOME only when it made it, and refuses with exit 2 otherwise)",
    )
    p.set_defaults(func=cmd_demo)


def _add_land(sub) -> None:
    """`mlgate land`: replay a table into the landing zone, a partition per local day."""
    p = sub.add_parser(
        "land",
        help="replay a table (CSV or Parquet) into the landing zone, one partition per local "
        "day of the spec's timestamp",
        description="Cuts FILE into the local days of the spec's keys.timestamp (in "
        "keys.timezone; an instant without offset is UTC) and writes each day to "
        "landing/<source.features.feed>/ds=D/<file>; the outcomes table (keyed by keys.id) "
        "goes to the day of its rows. Landing a day again gives the same partition. "
        "--scale N lands each day N times over (copies with their own keys and jittered "
        "continuous columns). "
        "Exit 0 landed, 2 usage error (unreadable file, missing id or timestamp column, "
        "unparseable timestamp, outcome ids not in the features, no day in range, a scale "
        "that is not a whole number of at least 1 or whose copies' keys the contract refuses).",
    )
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument("--features", required=True, metavar="FILE", help="the features table")
    p.add_argument("--outcomes", metavar="FILE", help="the outcomes table, keyed by keys.id")
    p.add_argument("--start", type=_date, help="first local day to land (default: the first)")
    p.add_argument("--end", type=_date, help="last local day to land (default: the last)")
    p.add_argument("--scale", type=_scale, default=1, metavar="N", help=SCALE_HELP)
    p.add_argument("--lake", help="lake URI (default: MLGATE_LAKE_URI)")
    p.set_defaults(func=cmd_land)


def _add_run(sub) -> None:
    """`mlgate run`: the spec's real DAGs over the landed days."""
    p = sub.add_parser(
        "run",
        help="run the spec's real DAGs day by day over the landed days, then print the timeline",
        description="Runs ingest, score and monitor for every day in START..END whose "
        "features have landed, train on the spec's train_cron and on the monitor's retrain "
        "requests (unattended: a gray zone is left to live evidence, which the monitor "
        "settles), with dag.test() in the current "
        "MLGATE_HOME (nothing is deleted; the whole output in MLGATE_HOME/run.log, each "
        "task's log in the Airflow UI). Prints a line per day, then the timeline. Exit 0 "
        "when every task ran (quarantines and refusals are outcomes), 1 when a task failed, "
        "2 usage error.",
    )
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument(
        "--json",
        action="store_true",
        help="print the timeline as one JSON object per line: date, event, model_version, "
        "metric, reason (progress goes to stderr)",
    )
    p.set_defaults(func=cmd_run)


def _add_validate(sub) -> None:
    """`mlgate validate`: one features partition through the gate."""
    p = sub.add_parser("validate", help="validate one features partition against the gate")
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument("--ds", required=True, type=_date, help="the partition date, YYYY-MM-DD")
    p.add_argument("--data", required=True, help="the partition file (CSV or Parquet)")
    p.add_argument("--history", help="folder of earlier partitions laid out as ds=YYYY-MM-DD/...")
    p.add_argument(
        "--json", action="store_true", help='print {"success", "ds", "rows", "failures": [...]}'
    )
    p.set_defaults(func=cmd_validate)


def _add_drift(sub) -> None:
    """`mlgate drift`: current data against a reference, or a monitored day's report."""
    p = sub.add_parser(
        "drift",
        help="per-feature drift of current data against a reference, or a monitored day's report",
        description="Tests each of the spec's model inputs of the current files against the "
        "reference files (KS over quantile bins for numeric inputs, Jensen-Shannon for "
        "categorical ones, each judged against its permutation distribution), at the spec's "
        "monitoring.drift.false_alarm_rate over all the tests together. The verdict: "
        "`drift` is true when any input drifted (data drawn from the reference's own "
        "distribution is called drifted at most false_alarm_rate of the time), and `drifted` "
        "names them. Apart from it, `drifted_importance` is the share of the features' "
        "importance on the drifted ones (without a model every feature weighs the same) and "
        "`importance_drift` says whether it reaches monitoring.drift.min_drifted_share: the "
        "monitor asks for retraining on that one. Exit 0 whether or not there is drift, 2 for "
        "a usage error (bad arguments, missing files, files that lack the spec's input "
        "columns, or a numeric column holding values that are not numbers).",
    )
    p.add_argument("--spec", required=True)
    p.add_argument(
        "--reference",
        help="a file or a folder of partitions (ds=YYYY-MM-DD/...: calibrated week by week)",
    )
    p.add_argument("--current", help="a file or a folder of partitions")
    p.add_argument(
        "--report",
        type=_date,
        metavar="DS",
        help="print the monitor's report of this day from the lake instead",
    )
    p.add_argument("--lake", help="lake URI for --report (default: MLGATE_LAKE_URI)")
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"drift", "drifted", "drifted_importance", "importance_drift", '
        '"min_drifted_share", "features": [...], ...} '
        "(with --report: the whole report, as the monitor wrote it)",
    )
    p.set_defaults(func=cmd_drift)


def _add_simulate(sub) -> None:
    """`mlgate simulate`: deliver real 2013 days into the landing zone."""
    p = sub.add_parser(
        "simulate",
        help="the demo's upstream: deliver its 2013 days into the landing zone "
        "(other specs: mlgate land)",
    )
    p.add_argument(
        "--spec", help="the demo's spec (the default; another spec is refused: use land)"
    )
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--lake", help="lake URI (default: MLGATE_LAKE_URI)")
    p.add_argument("--no-outcomes", action="store_true")
    p.add_argument("--scale", type=_scale, default=1, metavar="N", help=SCALE_HELP)
    p.set_defaults(func=cmd_simulate)


def _add_evaluate(sub) -> None:
    """`mlgate evaluate`: the promotion gate for a registered version (never promotes)."""
    p = sub.add_parser(
        "evaluate",
        help="run the promotion gate for a registered version against the champion "
        "(never promotes)",
    )
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument("--candidate", required=True, help="the registered model version to judge")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the decision: outcome, sentence, reasons, metrics, checks, slices, lineage",
    )
    p.add_argument(
        "--log",
        action="store_true",
        help="also log the promotion card and metrics to the version's MLflow run",
    )
    p.set_defaults(func=cmd_evaluate)


def _add_rollback(sub) -> None:
    """`mlgate rollback`: the champion one step back."""
    p = sub.add_parser("rollback", help="move the champion one step back")
    p.add_argument("--model", required=True, help="spec name of the model")
    p.add_argument("--reason", default="manual rollback from the command line")
    p.set_defaults(func=cmd_rollback)


def _add_decisions(sub) -> None:
    """`mlgate decisions`: every decision of the gate, judged by the days after it."""
    p = sub.add_parser(
        "decisions",
        help="list the promotion gate's decisions, each judged in hindsight: right, wrong or "
        "pending",
        description="Every decision of the promotion gate (promote, refuse, ask, rollback) "
        "against the champion of its moment, judged on the labelled days after it "
        "(monitoring.hindsight.days from its day on, neither model trained on them): both "
        "versions score those rows and the paired change, candidate minus champion (log loss; "
        "RMSE for a regression) with evaluation.confidence, says which was better. A decision "
        "is right unless the version it kept serving was measurably worse than the one it "
        "passed over; pending until those days' labels are in (monitoring.hindsight.min_rows). "
        "A first model has no champion to compare and is not listed.",
    )
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument(
        "--json",
        action="store_true",
        help="print {model, decisions: [{ds, decision, candidate, champion, promoted, "
        "sentence, verdict, why, days, rows, change}], summary: {right, wrong, pending, judged, "
        "share}}",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="also tag each judged version in the registry (mlgate.hindsight, "
        "mlgate.hindsight_why; mlgate.rollback_hindsight and its _why on a version rolled "
        "back from) and put the verdict at the top of its description",
    )
    p.set_defaults(func=cmd_decisions)


def _add_drill(sub) -> None:
    """`mlgate drill`: upstream incidents, derived from the spec, injected into a landed day."""
    p = sub.add_parser(
        "drill",
        help="rehearse the gate: inject upstream incidents derived from the spec into a "
        "landed day and show what catches them",
        description="Scenarios from the spec: slice_missing:<slice>, unit_change:<column> "
        "(relations, history distribution columns), case_change:<column> (text with allowed "
        "or pattern), date_shifted (an older landed day), replayed_duplicates, "
        "shifted_column, type_change, empty_file, truncated_file, misencoded (CSV), "
        "label_outage (outcomes). The day and its history are read from the landing zone "
        "(mlgate land). Exit 0 when every scenario tried is caught, 1 when one is missed, "
        "2 usage error (nothing landed for the day, unknown scenario).",
    )
    p.add_argument("--spec", required=True, help=SPEC_HELP)
    p.add_argument("--ds", required=True, type=_date, help="a landed day, YYYY-MM-DD")
    p.add_argument("--scenario", action="append", help="one scenario (repeatable); all by default")
    p.add_argument("--lake", help="lake URI (default: MLGATE_LAKE_URI)")
    p.add_argument(
        "--json", action="store_true", help='print {"ds", "caught", "tried", "scenarios": [...]}'
    )
    p.set_defaults(func=cmd_drill)


def _add_env(sub) -> None:
    """`mlgate env`: the local Airflow and MLflow environment as export lines."""
    p = sub.add_parser(
        "env", help="print the environment (export lines) of the local Airflow and MLflow, for eval"
    )
    p.set_defaults(func=cmd_env)


def _add_up(sub) -> None:
    """`mlgate up`: Airflow standalone and the MLflow UI on the demo's state."""
    p = sub.add_parser("up", help="Airflow standalone and the MLflow UI on the demo's state")
    p.add_argument("--airflow-port", type=int, default=8080)
    p.add_argument("--mlflow-port", type=int, default=5000)
    p.set_defaults(func=cmd_up)


def _add_spec(sub) -> None:
    """`mlgate spec check|schema`: check spec files, print the spec's JSON Schema."""
    p = sub.add_parser("spec", help="check spec files; print the JSON Schema of a spec")
    actions = p.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="check spec files (fields, types, ranges, the label against its column, XGBoost "
        "parameter names): exit 0 when all are valid, 2 with every problem found "
        "(file, field, what to write)",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="a spec file or name")
    check.add_argument(
        "--effective", action="store_true", help="print each spec with every default filled in"
    )
    check.set_defaults(func=cmd_spec_check)
    schema = actions.add_parser(
        "schema", help="print the JSON Schema of a spec (for editors: completion, defaults, docs)"
    )
    schema.set_defaults(func=cmd_spec_schema)


def cmd_spec_check(args) -> int:
    from mlgate.config.spec import SpecError, load_spec
    from mlgate.train.booster import unknown_params

    failed = False
    for name in args.files:
        try:
            spec = load_spec(name)
        except SpecError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        problems = unknown_params(spec.section("training")["params"])
        if problems:
            failed = True
            for problem in problems:
                print(f"spec {spec.path.name}: training.params: {problem}", file=sys.stderr)
            continue
        print(f"{spec.path}: ok (model {spec.model}, task {spec.section('task')})")
        if args.effective:
            import yaml

            print(yaml.safe_dump(spec.raw, sort_keys=False), end="")
    return EXIT_USAGE if failed else EXIT_OK


def cmd_spec_schema(args) -> int:
    from mlgate.config.fields import json_schema

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mlgate model spec",
        **json_schema(),
    }
    print(json.dumps(schema, indent=2))
    return EXIT_OK


def store_error(exc: BaseException) -> str | None:
    """What an error of the stores means to the user (None: not a store error, a bug)."""
    from mlgate.lake.store import LakeError

    if isinstance(exc, LakeError):
        return str(exc)
    module = type(exc).__module__.split(".")[0]
    if module in ("mlflow", "requests", "urllib3", "sqlalchemy", "sqlite3"):
        from mlgate.config.settings import load_settings

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (
            "another process holds the SQLite store; wait for it or use an MLflow server"
            if "database is locked" in str(exc)
            else "is the tracking server up, and MLFLOW_TRACKING_URI right?"
        )
        return f"the MLflow tracking store {load_settings().tracking_uri} failed: {first} ({hint})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"mlgate {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        reason = store_error(exc)
        if reason is None:
            raise
        print(f"mlgate {args.command}: {reason}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
